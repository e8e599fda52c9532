"""A report from the journal system that meets another change of the same Task: the
workflow refuses the later write, and the answer tells the journal system to send again."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import Engine

from gateway.demo_peers.rivta_journal import Report
from gateway.errors import FhirError, changed_meanwhile, gone, version_conflict
from gateway.rivta import contract
from gateway.rivta.endpoint import CHANGED_MEANWHILE, refusal_result
from gateway.workflow import hooks
from gateway.workflow.task_states import Role, check_transition
from tests.integration.adapters.rivta.conftest import UNIT_HSA, World
from tests.support.errors import raised


def test_a_report_checked_before_another_was_written_is_to_be_sent_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The journal system's reports can overlap (two sent at once, or one sent again
    while the first is still at work): the one checked against the Task as it was before
    the other was written is refused, TECHNICAL_ERROR, and sent again it is applied."""
    engine: Engine = world.app.state.session_factory.kw["bind"]
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time (BEGIN IMMEDIATE): no overlap to test")
    task = world.submit()
    world.deliver()
    checked, go_on = threading.Event(), threading.Event()
    check = hooks.TaskHook.before_write

    def check_then_wait(self: hooks.TaskHook, fhir: Any, body: Any, existing: Any) -> Any:
        checked_body = check(self, fhir, body, existing)
        if not checked.is_set():
            checked.set()  # the first report has passed the workflow ...
            go_on.wait(20)  # ... and is written only after the second one
        return checked_body

    monkeypatch.setattr(hooks.TaskHook, "before_write", check_then_wait)
    reports: dict[str, Report] = {}

    def book_a_visit() -> None:
        reports["booked"] = world.journal.report(
            task["id"], UNIT_HSA, business_status="besok-bokat", message_id="vc-7"
        )

    sender = threading.Thread(target=book_a_visit)
    sender.start()
    try:
        assert checked.wait(20)
        accepted = world.journal.report(task["id"], UNIT_HSA, status="accepted", message_id="vc-8")
        assert accepted.result is not None
        assert accepted.result.code == contract.OK, accepted.result
    finally:
        go_on.set()
        sender.join(30)

    booked = reports["booked"]
    assert booked.result is not None, booked.error
    assert (booked.result.code, booked.result.error_code) == (
        contract.ERROR,
        contract.TECHNICAL_ERROR,  # send again, as the contract says
    )
    assert booked.result.text == CHANGED_MEANWHILE.text
    assert booked.task_status is None
    assert "businessStatus" not in world.task(task["id"])

    again = world.journal.report(
        task["id"], UNIT_HSA, business_status="besok-bokat", message_id="vc-7"
    )
    assert again.result is not None
    assert again.result.code == contract.OK, again.result
    after = world.task(task["id"])
    assert after["status"] == "accepted"
    assert after["businessStatus"]["coding"][0]["code"] == "besok-bokat"


@pytest.mark.parametrize(
    ("refusal", "error_code"),
    [
        # A write over a version another change replaced while this one was checked.
        (changed_meanwhile("Task"), contract.TECHNICAL_ERROR),
        # The same, met at the version the applier read itself (its own If-Match).
        (version_conflict("2", "3"), contract.TECHNICAL_ERROR),
        # What the workflow does not allow stays so, however often it is sent.
        (
            raised(lambda: check_transition("completed", "accepted", Role.OWNER)),
            contract.APPLICATION_ERROR,
        ),
        (gone("Task"), contract.APPLICATION_ERROR),
    ],
    ids=["changed-meanwhile", "read-version-replaced", "illegal-transition", "deleted"],
)
def test_only_a_task_changed_meanwhile_is_to_be_sent_again(
    refusal: FhirError, error_code: str
) -> None:
    result = refusal_result(refusal)
    assert (result.code, result.error_code) == (contract.ERROR, error_code)
    if error_code == contract.TECHNICAL_ERROR:
        assert result == CHANGED_MEANWHILE  # a fixed text: it quotes nothing of the message
    else:
        assert result.text == refusal.issues[0].text_sv
