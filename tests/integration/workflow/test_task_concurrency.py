"""A Task changed by two parties at once: the later change is refused, never written over
the earlier one."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import Engine

from gateway.security.caller import PartyKind
from gateway.workflow import hooks
from tests.integration.workflow.conftest import ANNA, GAVLE, World
from tests.support.answers import answer_to
from tests.support.submissions import submission


def test_a_cancel_checked_before_the_answer_does_not_undo_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine: Engine = world.app.state.session_factory.kw["bind"]
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time (BEGIN IMMEDIATE): no overlap to test")
    task = world.submit(submission(ANNA.personnummer, GAVLE, case_id="overlap-1")).json()
    url = f"/fhir/Task/{task['id']}"
    checked, go_on = threading.Event(), threading.Event()
    check = hooks.TaskHook.before_write

    def check_then_wait(self: hooks.TaskHook, fhir: Any, body: Any, existing: Any) -> Any:
        checked_body = check(self, fhir, body, existing)
        if fhir.caller.party_kind is PartyKind.KOMMUN:
            checked.set()  # the kommun's cancel has passed the state machine ...
            go_on.wait(20)  # ... and is written only after the unit has answered
        return checked_body

    monkeypatch.setattr(hooks.TaskHook, "before_write", check_then_wait)
    answers: dict[str, Any] = {}
    cancel = threading.Thread(
        target=lambda: answers.update(
            cancel=world.as_kommun("PUT", url, {**task, "status": "cancelled"})
        )
    )
    cancel.start()
    try:
        assert checked.wait(20)
        answered = world.as_unit(
            "POST", "/fhir/QuestionnaireResponse", answer_to(task["focus"]["reference"])
        )
        assert answered.status_code == 201, answered.text
    finally:
        go_on.set()
        cancel.join(30)

    refused = answers["cancel"]
    assert refused.status_code == 409, refused.text
    issue = refused.json()["issue"][0]
    assert issue["code"] == "conflict"
    assert issue["expression"] == ["Task"]
    assert "samtidigt" in issue["details"]["text"]
    final = world.as_kommun("GET", url).json()
    assert final["status"] == "completed"
    assert final["output"][0]["valueReference"]["reference"].startswith("QuestionnaireResponse/")
    history = world.as_kommun("GET", f"{url}/_history").json()
    assert [e["resource"]["status"] for e in history["entry"]] == ["completed", "requested"]
