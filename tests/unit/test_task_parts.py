"""Who wrote what on a Task: stamping a party's notes and reasons, and what the kommun sees
of the unit's part when the consent no longer permits (gateway.workflow.task_parts)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.canonical import EXT_RECORDED_BY
from gateway.workflow.task_parts import (
    kept_notes,
    party_elements,
    recorded_by,
    without_redacted_label,
    without_units_part,
)
from gateway.workflow.task_states import Role

KOMMUN = "Organization/kommun-2180"
UNIT = "Organization/vc-jonkoping-centrum"
NOW = "2026-12-07T12:00:00Z"


def _by(party: str, **element: Any) -> dict[str, Any]:
    return {
        **element,
        "extension": [{"url": EXT_RECORDED_BY, "valueReference": {"reference": party}}],
    }


def test_a_new_note_is_stamped_with_its_sender_whatever_it_claims() -> None:
    forged = _by(KOMMUN, text="Bokat.")
    (note,) = kept_notes([], [forged], NOW, UNIT)
    assert recorded_by(note) == UNIT
    assert note["time"] == NOW
    assert [e["url"] for e in note["extension"]] == [EXT_RECORDED_BY]


@pytest.mark.parametrize(
    ("old", "sent", "party", "same"),
    [
        # The sender's own note, sent back whole, without its time, or without its stamp.
        (_by(UNIT, text="A", time=NOW), _by(UNIT, text="A", time=NOW), UNIT, True),
        (_by(UNIT, text="A", time=NOW), {"text": "A"}, UNIT, True),
        # The other party's note, sent back as it was read (stamp and all) ...
        (_by(UNIT, text="A", time=NOW), _by(UNIT, text="A", time=NOW), KOMMUN, True),
        # ... but the same text without the stamp is the sender's own new note.
        (_by(UNIT, text="A", time=NOW), {"text": "A"}, KOMMUN, False),
        (_by(UNIT, text="A", time=NOW), {"text": "A", "time": NOW}, KOMMUN, False),
        # A note from before stamps is the same note only when sent back whole.
        ({"text": "A", "time": NOW}, {"text": "A", "time": NOW}, KOMMUN, True),
        ({"text": "A", "time": NOW}, {"text": "A"}, KOMMUN, False),
    ],
)
def test_a_note_sent_back_is_the_same_note_only_as_its_reader_could_send_it(
    old: dict[str, Any], sent: dict[str, Any], party: str, same: bool
) -> None:
    notes = kept_notes([old], [sent], NOW, party)
    assert len(notes) == (1 if same else 2)
    if not same:
        assert recorded_by(notes[1]) == party


def test_the_kommun_neither_changes_nor_removes_the_units_work_status() -> None:
    booked = {"coding": [{"code": "besok-bokat"}]}
    existing = {"status": "accepted", "businessStatus": booked}
    for sent in ({"status": "cancelled"}, {"status": "cancelled", "businessStatus": {}}):
        body = party_elements(sent, existing, Role.REQUESTER, KOMMUN, NOW)
        assert body["businessStatus"] == booked
    unit = party_elements({"status": "in-progress"}, existing, Role.OWNER, UNIT, NOW)
    assert "businessStatus" not in unit, "the unit may leave its own out"


def test_a_reason_keeps_its_author_only_when_sent_back_as_read() -> None:
    rejected = _by(UNIT, text="Inneliggande.")
    existing = {"status": "received", "statusReason": rejected}
    as_read = party_elements(
        {"status": "cancelled", "statusReason": rejected}, existing, Role.REQUESTER, KOMMUN, NOW
    )
    assert recorded_by(as_read["statusReason"]) == UNIT
    guessed = party_elements(
        {"status": "cancelled", "statusReason": {"text": "Inneliggande."}},
        existing,
        Role.REQUESTER,
        KOMMUN,
        NOW,
    )
    assert recorded_by(guessed["statusReason"]) == KOMMUN, "a guess is the kommun's own"


@pytest.mark.parametrize(
    ("task", "kept"),
    [
        # The kommun's own note and reason stay; the unit's go, and so does its status.
        (
            {
                "status": "cancelled",
                "note": [_by(UNIT, text="u"), _by(KOMMUN, text="k")],
                "businessStatus": {"text": "b"},
                "statusReason": _by(KOMMUN, text="r"),
            },
            {"note": ["k"], "statusReason": "r", "businessStatus": False},
        ),
        # A reason with no stamp on a cancelled or failed Task is the gateway's.
        (
            {"status": "failed", "statusReason": {"text": "g"}, "note": [_by(UNIT, text="u")]},
            {"statusReason": "g"},
        ),
        # Elsewhere it may be the unit's (stored before stamps): withheld.
        ({"status": "rejected", "statusReason": {"text": "u"}}, {"statusReason": None}),
        # A note with no stamp is withheld.
        ({"status": "accepted", "note": [{"text": "u"}]}, {"note": []}),
    ],
)
def test_the_kommun_sees_its_own_part_and_the_gateways(
    task: dict[str, Any], kept: dict[str, Any]
) -> None:
    redacted = without_units_part(task, KOMMUN)
    assert redacted is not None
    assert [s["code"] for s in redacted["meta"]["security"]] == ["REDACTED"]
    if "note" in kept:
        assert [n["text"] for n in redacted.get("note", [])] == kept["note"]
    if "statusReason" in kept:
        reason = redacted.get("statusReason")
        assert (reason or {}).get("text") == kept["statusReason"]
    assert "businessStatus" not in redacted
    assert without_redacted_label(redacted)["meta"] == {}, "the label is the read's"


def test_a_task_with_nothing_of_the_units_needs_no_decision() -> None:
    task = {"status": "cancelled", "note": [_by(KOMMUN, text="k")], "statusReason": {"text": "g"}}
    assert without_units_part(task, KOMMUN) is None
