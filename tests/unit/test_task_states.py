"""The Task state machine: every legal step, and the illegal ones refused with 409."""

from __future__ import annotations

import pytest

from gateway.errors import FhirError
from gateway.workflow.task_states import CLOSED, OPEN, Role, check_transition


@pytest.mark.parametrize(
    ("current", "new", "role"),
    [
        ("requested", "received", Role.GATEWAY),
        ("requested", "received", Role.OWNER),
        ("received", "accepted", Role.OWNER),
        ("accepted", "in-progress", Role.OWNER),
        ("in-progress", "on-hold", Role.OWNER),
        ("on-hold", "in-progress", Role.OWNER),
        ("in-progress", "completed", Role.GATEWAY),
        ("requested", "rejected", Role.OWNER),
        ("received", "rejected", Role.OWNER),
        ("in-progress", "cancelled", Role.REQUESTER),
        ("on-hold", "cancelled", Role.GATEWAY),
        ("requested", "failed", Role.GATEWAY),
        ("in-progress", "in-progress", Role.OWNER),
    ],
)
def test_legal(current: str, new: str, role: Role) -> None:
    check_transition(current, new, role)


@pytest.mark.parametrize(
    ("current", "new", "role"),
    [
        ("requested", "completed", Role.OWNER),
        ("in-progress", "completed", Role.OWNER),  # only by submitting the answer
        ("accepted", "rejected", Role.OWNER),
        ("requested", "accepted", Role.REQUESTER),
        ("received", "cancelled", Role.OWNER),
        ("completed", "in-progress", Role.OWNER),
        ("cancelled", "requested", Role.REQUESTER),
        ("requested", "failed", Role.OWNER),
        ("completed", "completed", Role.OWNER),
        ("accepted", "accepted", Role.REQUESTER),
    ],
)
def test_illegal_is_409_with_swedish_text(current: str, new: str, role: Role) -> None:
    with pytest.raises(FhirError) as caught:
        check_transition(current, new, role)
    assert caught.value.status == 409
    issue = caught.value.issues[0]
    assert issue.expression == ("Task.status",)
    assert issue.text_sv


def test_every_open_state_can_be_cancelled_and_no_closed_state_moves() -> None:
    for state in OPEN:
        check_transition(state, "cancelled", Role.REQUESTER)
    # The operator's rerun of a dead delivery, and a report from the unit's system on a
    # request the gateway gave up delivering: the gateway's own, and only from failed.
    reopened = {("failed", "requested"), ("failed", "received")}
    for state in CLOSED:
        for target in OPEN | CLOSED:
            if (state, target) in reopened:
                continue
            with pytest.raises(FhirError):
                check_transition(state, target, Role.GATEWAY)
    for state, target in reopened:
        check_transition(state, target, Role.GATEWAY)
        for party in (Role.REQUESTER, Role.OWNER):
            with pytest.raises(FhirError):
                check_transition(state, target, party)
