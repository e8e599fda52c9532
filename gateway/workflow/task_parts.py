"""What of a Task each party wrote: its notes, its reasons, the unit's work status.

The gateway stamps a note or a statusReason a party sends with that party
(``kv-recorded-by``, replacing whatever the party put there itself), so that later it
can tell the unit's part of a Task from the kommun's and its own. The unit's part is a
disclosure to the kommun like its answer: when the consent no longer permits, the kommun
sees its Task without it (:func:`without_units_part`)."""

from __future__ import annotations

from typing import Any

from gateway.canonical import EXT_RECORDED_BY
from gateway.workflow.task_states import Role

# Search parameters over the unit's part of a Task (see hooks.TaskHook.before_search).
UNITS_PARAMETERS = frozenset({"business-status"})
# A reason without a stamp in these statuses is the gateway's own (a withdrawal, a
# delivery given up) or the kommun's from before stamps; in any other it may be the unit's.
_GATEWAY_REASON_STATUSES = frozenset({"cancelled", "failed"})

# meta.security of a resource shown with parts left out (HL7 v3 ObservationValue).
REDACTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "REDACTED",
    "display": "redacted",
}


def recorded_by(element: dict[str, Any]) -> str | None:
    """The party a note or a reason is stamped with; None when it has no stamp (the
    gateway's own, or one stored before stamps)."""
    for extension in element.get("extension") or []:
        if isinstance(extension, dict) and extension.get("url") == EXT_RECORDED_BY:
            value = (extension.get("valueReference") or {}).get("reference")
            return value if isinstance(value, str) else None
    return None


def _unstamped(element: dict[str, Any]) -> dict[str, Any]:
    kept = [
        e
        for e in element.get("extension") or []
        if not (isinstance(e, dict) and e.get("url") == EXT_RECORDED_BY)
    ]
    bare = {k: v for k, v in element.items() if k != "extension"}
    return {**bare, "extension": kept} if kept else bare


def _stamped(element: dict[str, Any], party: str) -> dict[str, Any]:
    bare = _unstamped(element)
    stamp = {"url": EXT_RECORDED_BY, "valueReference": {"reference": party}}
    return {**bare, "extension": [*bare.get("extension", []), stamp]}


def kept_notes(kept: list[Any], sent: list[Any], now: str, party: str) -> list[Any]:
    """A Task's notes are part of the case record: the notes already made stay as they
    are, whatever a later version sends (left out, shortened or changed), and a sent note
    that is not one of them is added, stamped with the party that sent it and timed now
    when it has no time. A note sent back as it was read, whole or without some of its
    elements (its time, its stamp), is the same note; one sent without its stamp is only
    taken for a note of the sender's own, so a party's new note never vanishes into the
    other party's note of the same text (which it may not even see)."""
    notes = list(kept)
    for note in sent:
        if not isinstance(note, dict):
            continue
        if any(isinstance(old, dict) and _is_sent_back(old, note, party) for old in notes):
            continue
        new = _stamped(note, party)
        notes.append(new if new.get("time") else {**new, "time": now})
    return notes


def _is_sent_back(old: dict[str, Any], sent: dict[str, Any], party: str) -> bool:
    """Whether ``sent`` is ``old`` sent back as it was read (whole, or without some of its
    elements). Sent with its extensions, the stamp is compared with the rest; sent without,
    it must be the sender's own: another party's note or reason of the same text is not
    taken for it (the sender may not even see it). One from before stamps only whole."""
    if not all(old.get(k) == v for k, v in sent.items()):
        return False
    author = recorded_by(old)
    if author is None:
        return sent == old
    return author == party or "extension" in sent


def party_elements(
    body: dict[str, Any], existing: dict[str, Any], role: Role, party: str, now: str
) -> dict[str, Any]:
    """A party's new Task version with what it may not rewrite kept as it was: the notes
    (only added to), a reason it sent stamped as its own (one sent back as it was read
    keeps its author), and the unit's work status, which stays as it is whatever the
    kommun sends."""
    body = dict(body)
    notes = kept_notes(existing.get("note") or [], body.pop("note", None) or [], now, party)
    if notes:
        body["note"] = notes
    sent_reason, old_reason = body.get("statusReason"), existing.get("statusReason")
    if isinstance(sent_reason, dict):
        unchanged = isinstance(old_reason, dict) and _is_sent_back(old_reason, sent_reason, party)
        body["statusReason"] = old_reason if unchanged else _stamped(sent_reason, party)
    if role is Role.REQUESTER:
        # Whatever the kommun sends: compared, it would answer a guess at what it may not see.
        body.pop("businessStatus", None)
        if "businessStatus" in existing:
            body["businessStatus"] = existing["businessStatus"]
    return body


def without_units_part(task: dict[str, Any], reader: str) -> dict[str, Any] | None:
    """The Task as ``reader`` (its kommun) sees it when the unit's part may not be
    disclosed: without the unit's work status, without the notes and the reason that
    ``reader`` did not write, and labelled REDACTED. What carries no stamp is withheld,
    but for a reason on a cancelled or failed Task, which is the gateway's own. None when
    the Task holds nothing but the reader's, so there is nothing to withhold."""
    notes = [n for n in task.get("note") or [] if isinstance(n, dict)]
    readers_notes = [n for n in notes if recorded_by(n) == reader]
    reason = task.get("statusReason")
    author = recorded_by(reason) if isinstance(reason, dict) else None
    keep_reason = (
        reason is None
        or author == reader
        or (author is None and task.get("status") in _GATEWAY_REASON_STATUSES)
    )
    if len(readers_notes) == len(notes) and keep_reason and "businessStatus" not in task:
        return None
    redacted = {k: v for k, v in task.items() if k not in ("note", "businessStatus")}
    if readers_notes:
        redacted["note"] = readers_notes
    if not keep_reason:
        redacted.pop("statusReason")
    meta = dict(redacted.get("meta") or {})
    meta["security"] = [*meta.get("security", []), REDACTED]
    redacted["meta"] = meta
    return redacted


def without_redacted_label(body: dict[str, Any]) -> dict[str, Any]:
    """A Task sent back as it was read: the REDACTED label is the read's, not the record's."""
    meta = body.get("meta")
    if not isinstance(meta, dict) or not isinstance(meta.get("security"), list):
        return body
    security = [s for s in meta["security"] if not _is_redacted(s)]
    if len(security) == len(meta["security"]):
        return body
    trimmed = {k: v for k, v in meta.items() if k != "security"}
    if security:
        trimmed["security"] = security
    return {**body, "meta": trimmed}


def _is_redacted(coding: Any) -> bool:
    return (
        isinstance(coding, dict)
        and coding.get("system") == REDACTED["system"]
        and coding.get("code") == REDACTED["code"]
    )
