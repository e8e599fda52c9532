"""What a party's message may carry and claim: the gateway stamps when it was sent, and a
case's dialogue is bounded, so the inbox shows all of it (CommunicationHook)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.workflow import hooks
from tests.integration.workflow.conftest import ANNA, GAVLE, World, communication
from tests.support.submissions import submission


def _task(world: World) -> dict[str, Any]:
    created = world.submit(submission(ANNA.personnummer, GAVLE, case_id="dialog"))
    assert created.status_code == 201, created.text
    world.deliver()
    task: dict[str, Any] = created.json()
    return task


def test_the_gateway_says_when_a_message_was_sent(world: World) -> None:
    task = _task(world)
    message = communication(task["id"], "Hej")
    message["sent"] = "1900-01-01"
    message["received"] = "2020-01-01T00:00:01Z"

    posted = world.as_kommun("POST", "/fhir/Communication", message)

    assert posted.status_code == 201, posted.text
    stored = posted.json()
    assert stored["sent"] > task["authoredOn"], "not before the request existed"
    assert "received" not in stored


def test_a_message_has_a_bounded_number_of_parts(world: World) -> None:
    task = _task(world)
    message = communication(task["id"], "Hej")
    message["payload"] = [{"contentString": f"del {n}"} for n in range(21)]

    refused = world.as_kommun("POST", "/fhir/Communication", message)

    assert refused.status_code == 422, refused.text
    assert refused.json()["issue"][0]["expression"] == ["Communication.payload"]


def test_a_case_holds_a_bounded_number_of_messages(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hooks, "MAX_MESSAGES_PER_TASK", 3)
    task = _task(world)
    for number in range(3):
        posted = world.as_unit(
            "POST", "/fhir/Communication", communication(task["id"], f"{number}")
        )
        assert posted.status_code == 201, posted.text

    refused = world.as_kommun("POST", "/fhir/Communication", communication(task["id"], "fler"))

    assert refused.status_code == 409, refused.text
    issue = refused.json()["issue"][0]
    assert issue["expression"] == ["Communication.partOf"]
    assert "3 meddelanden" in issue["details"]["text"]
