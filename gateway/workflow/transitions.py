"""Changing a Task: the state machine, a new version, and the notifications it triggers."""

from __future__ import annotations

from typing import Any

from gateway.canonical import CS_REJECTION_REASON
from gateway.errors import FhirError
from gateway.store.resources import ResourceStore, StoredResource, utc_now
from gateway.workflow.subscriptions import notify_subscribers
from gateway.workflow.task_states import Role, check_transition


def change_task(
    store: ResourceStore,
    task_id: str,
    status: str,
    role: Role,
    *,
    reason: dict[str, Any] | None = None,  # statusReason, a CodeableConcept
    output: list[dict[str, Any]] | None = None,
    business_status: dict[str, Any] | None = None,
) -> StoredResource:
    """Move a Task as the gateway or on behalf of a party; 409 if the change is illegal.

    ``reason`` explains the new status; without one, a reason the old status had goes
    (a request rerun after it failed no longer says why it failed)."""
    current = store.current("Task", task_id)
    if current is None or current.body is None:
        raise FhirError.single(
            404,
            "not-found",
            "Uppgiften finns inte.",
            diagnostics="Task with that id is not known to this server",
        )
    check_transition(current.body["status"], status, role)
    body = dict(current.body)
    if status != body["status"]:
        body.pop("statusReason", None)
    body["status"] = status
    body["lastModified"] = utc_now().isoformat().replace("+00:00", "Z")
    if reason is not None:
        body["statusReason"] = reason
    if output is not None:
        body["output"] = output
    if business_status is not None:
        body["businessStatus"] = business_status
    updated = store.update(body, task_id, if_match=str(current.version_id))
    notify_subscribers(store, updated)
    return updated


# The gateway's own reasons (CodeSystem kv-gateway-task-reason), so that a system tells
# them apart by code, not by their Swedish text.
REASON_UNDELIVERED = "ej-levererad"
REASON_STOPPED_BY_CONSENT = "samtycke-vid-utskick"
REASON_CONSENT_WITHDRAWN = "samtycke-aterkallat"


def reason(
    text_sv: str, code: str | None = None, system: str = CS_REJECTION_REASON
) -> dict[str, Any]:
    """A statusReason: Swedish text, with a code from the rejection reasons when there is one."""
    concept: dict[str, Any] = {"text": text_sv}
    if code:
        concept["coding"] = [{"system": system, "code": code}]
    return concept
