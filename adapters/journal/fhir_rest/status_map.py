"""Mapping a journal system's Task onto our Task's status (polling).

| peer Task.status          | our Task                                                    |
|---------------------------|-------------------------------------------------------------|
| draft, requested          | no change (not yet seen by the unit)                        |
| received                  | received                                                    |
| ready, accepted           | accepted                                                    |
| in-progress               | in-progress                                                 |
| on-hold                   | on-hold                                                     |
| rejected                  | rejected; statusReason from our rejection reasons if the    |
|                           | peer used them, else ``annat``                               |
| completed                 | completed by the answer (a QuestionnaireResponse in         |
|                           | Task.output, contained or on the peer); without an answer   |
|                           | the workflow refuses it, as it refuses the unit's client   |
| cancelled, failed,        | no change: a unit cannot withdraw the kommun's request;     |
| entered-in-error          | it is counted as ignored                                     |

``businessStatus`` is taken when the peer's coding is from our business-status CodeSystem.
The peer's ``meta.versionId`` (or ``meta.lastUpdated``) is the update's remote version.
"""

from __future__ import annotations

from typing import Any

from gateway.canonical import CS_REJECTION_REASON, CS_TASK_BUSINESS_STATUS

STATUS_MAP: dict[str, str | None] = {
    "draft": None,
    "requested": None,
    "received": "received",
    "ready": "accepted",
    "accepted": "accepted",
    "in-progress": "in-progress",
    "on-hold": "on-hold",
    "rejected": "rejected",
    "completed": "completed",
    "cancelled": None,
    "failed": None,
    "entered-in-error": None,
}
FALLBACK_REJECTION = "annat"


def our_status(remote: dict[str, Any]) -> str | None:
    return STATUS_MAP.get(str(remote.get("status", "")))


def _code_from(concept: Any, system: str) -> str | None:
    if not isinstance(concept, dict):
        return None
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and coding.get("system") == system and coding.get("code"):
            return str(coding["code"])
    return None


def business_status(remote: dict[str, Any]) -> str | None:
    return _code_from(remote.get("businessStatus"), CS_TASK_BUSINESS_STATUS)


def rejection_reason(remote: dict[str, Any]) -> str | None:
    if remote.get("status") != "rejected":
        return None
    return _code_from(remote.get("statusReason"), CS_REJECTION_REASON) or FALLBACK_REJECTION


def remote_version(remote: dict[str, Any]) -> str | None:
    meta = remote.get("meta")
    if not isinstance(meta, dict):
        meta = {}
    version = meta.get("versionId") or meta.get("lastUpdated")
    return f"{remote.get('id', '')}/{version}" if version else None


def answer_reference(remote: dict[str, Any]) -> str | None:
    """Where the answer is: ``#id`` (contained) or ``QuestionnaireResponse/id`` (at the peer)."""
    for output in remote.get("output") or []:
        if not isinstance(output, dict):
            continue
        reference = (output.get("valueReference") or {}).get("reference")
        if isinstance(reference, str) and (
            reference.startswith("#") or reference.startswith("QuestionnaireResponse/")
        ):
            return reference
    return None


def contained(remote: dict[str, Any], local_id: str) -> dict[str, Any] | None:
    for resource in remote.get("contained") or []:
        if isinstance(resource, dict) and resource.get("id") == local_id:
            return resource
    return None
