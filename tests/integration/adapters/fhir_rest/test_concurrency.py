"""A polled report that meets another change of the same Task: the workflow refuses the
later write, and the poller keeps its mark, so that the report is fetched and applied
next round instead of being lost."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import Engine

from gateway.delivery.inbound import InboundResult, may_pass_later
from gateway.delivery.poller import PollReport
from gateway.delivery.sync import high_water, marks
from gateway.errors import FhirError, changed_meanwhile, gone, not_found, version_conflict
from gateway.workflow import hooks
from gateway.workflow.task_states import Role, check_transition
from tests.integration.adapters.fhir_rest.conftest import FhirWorld
from tests.support.errors import raised
from tests.support.fhir_data import FHIR_JSON

ENDPOINT = "ep-vc-jonkoping-centrum"


def _mark(world: FhirWorld) -> str | None:
    with world.app.state.session_factory() as session:
        return high_water(session, ENDPOINT)


def test_a_polled_report_checked_before_another_change_was_written_is_fetched_again(
    fhir_world: FhirWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The unit's staff change the Task through the API while the poller applies what the
    journal system reports: the report, checked against the Task as it was before, is
    refused (412: the version it read is gone), the mark stays, and the next round fetches
    the report again and applies it over the staff's change."""
    world = fhir_world
    engine: Engine = world.app.state.session_factory.kw["bind"]
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time (BEGIN IMMEDIATE): no overlap to test")
    world.use(smart=world.smart(), receive="poll")
    task = world.submit()
    world.deliver()
    assert world.poll().updates == 0, "the request as delivered reports nothing yet"
    before = _mark(world)
    assert before is not None, "but the mark has moved to it"

    world.journal.move(world.remote(task["id"])["id"], "accepted")
    checked, go_on = threading.Event(), threading.Event()
    check = hooks.TaskHook.before_write

    def check_then_wait(self: hooks.TaskHook, fhir: Any, body: Any, existing: Any) -> Any:
        checked_body = check(self, fhir, body, existing)
        if fhir.caller.client_id.startswith("fhir-rest:poll:") and not checked.is_set():
            checked.set()  # the polled report has passed the workflow ...
            go_on.wait(20)  # ... and is written only after the staff's change
        return checked_body

    monkeypatch.setattr(hooks.TaskHook, "before_write", check_then_wait)
    rounds: dict[str, PollReport] = {}
    poller = threading.Thread(target=lambda: rounds.update(first=world.poll()))
    poller.start()
    try:
        assert checked.wait(20)
        url = f"/fhir/Task/{task['id']}"
        current = world.http.get(url, headers=world.unit).json()
        note = {"text": "Journalen begärd från arkivet.", "authorString": "Rehab VC"}
        noted = world.http.put(
            url, json={**current, "note": [note]}, headers={**world.unit, **FHIR_JSON}
        )
        assert noted.status_code == 200, noted.text
    finally:
        go_on.set()
        poller.join(30)

    first = rounds["first"]
    assert (first.updates, first.changed, first.refused) == (1, 0, 1)
    (failure,) = first.failures
    assert failure.startswith(f"Task/{task['id']}: refused 412: If-Match expected version")
    assert _mark(world) == before, "the mark stays: the report is fetched again"
    with world.app.state.session_factory() as session:
        (polled,) = (m for m in marks(session) if m.endpoint_id == ENDPOINT)
    assert polled.last_error == failure.split(": ", 1)[1], "reported as a passing failure"
    kept = world.task(task["id"])
    assert kept["status"] == "received", "nothing of the report was written"
    assert [n["text"] for n in kept["note"]] == [note["text"]]

    again = world.poll()
    assert (again.updates, again.changed, again.refused) == (1, 1, 0), again.failures
    after = world.task(task["id"])
    assert after["status"] == "accepted", "the report is not lost"
    assert [n["text"] for n in after["note"]] == [note["text"]], "nor is the staff's note"
    assert _mark(world) not in (None, before)
    assert world.poll().updates == 0, "the mark moved past what was applied"


@pytest.mark.parametrize(
    ("refusal", "passing"),
    [
        # A write over a version another change replaced while this one was checked.
        (changed_meanwhile("Task"), True),
        # The same, met at the version the applier read itself (its own If-Match).
        (version_conflict("2", "3"), True),
        # A fault in the gateway (what InboundApplier makes of an unexpected exception).
        (FhirError.single(500, "exception", "Tillfälligt fel."), True),
        # What the workflow does not allow stays so, however often it is fetched.
        (raised(lambda: check_transition("completed", "accepted", Role.OWNER)), False),
        (gone("Task"), False),
        (not_found("Task", "t-1"), False),
    ],
    ids=[
        "changed-meanwhile",
        "read-version-replaced",
        "fault",
        "illegal-transition",
        "deleted",
        "not-the-units",
    ],
)
def test_only_a_fault_or_a_task_changed_meanwhile_may_pass_later(
    refusal: FhirError, passing: bool
) -> None:
    assert may_pass_later(refusal) is passing
    assert InboundResult("t-1", error=refusal).may_pass_later is passing
    assert not InboundResult("t-1", changed=True).may_pass_later
