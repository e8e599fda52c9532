"""One request as the inbox shows it: the unit's own Task and everything around it."""

from __future__ import annotations

from typing import Any

from gateway.api.interactions import FhirInteractions
from gateway.canonical import CS_REJECTION_REASON, CS_TASK_BUSINESS_STATUS
from gateway.errors import FhirError
from gateway.store.resources import StoredResource, utc_now
from gateway.web.inbox.accounts import InboxUser
from gateway.web.inbox.catalog import Option, Terminology
from gateway.web.inbox.views import (
    OPEN,
    STATUS_SV,
    Reader,
    concept_text,
    due_date,
    first_reference,
    is_overdue,
)

# Set by the gateway when the answer is sent, never chosen by hand.
AUTOMATIC_BUSINESS_STATUSES = frozenset({"utlatande-skickat"})
ACCEPTABLE = frozenset({"requested", "received"})
CAN_HOLD = frozenset({"accepted", "in-progress", "on-hold"})


def not_found() -> FhirError:
    return FhirError.single(
        404, "not-found", "Ärendet finns inte.", diagnostics="no such Task for this unit"
    )


def own_task(fhir: FhirInteractions, user: InboxUser, task_id: str) -> StoredResource:
    """The Task if it exists and is owned by the user's unit; 404 otherwise.

    The tenant rules already hide other parties' Tasks; a Task the unit may see without
    owning it (none today) is not hers to work on either.
    """
    try:
        stored = fhir.read("Task", task_id)
    except FhirError as error:
        if error.status in (400, 403, 404, 410):
            raise not_found() from None
        raise
    if first_reference((stored.body or {}).get("owner")) != user.party:
        raise not_found()
    return stored


def rejection_reasons(codes: Terminology) -> list[Option]:
    return codes.system_concepts(CS_REJECTION_REASON)


def business_statuses(codes: Terminology) -> list[Option]:
    return [
        o
        for o in codes.system_concepts(CS_TASK_BUSINESS_STATUS)
        if o.code not in AUTOMATIC_BUSINESS_STATUSES
    ]


def answer_reference(task: dict[str, Any]) -> str | None:
    for output in task.get("output") or []:
        reference = (output.get("valueReference") or {}).get("reference")
        if isinstance(reference, str) and reference.startswith("QuestionnaireResponse/"):
            return reference
    return None


def _concept(value: Any, codes: Terminology) -> str:
    text = concept_text(value, codes)
    extra = value.get("text") if isinstance(value, dict) else None
    return f"{text} – {extra}" if extra and extra != text else text


def case_context(
    fhir: FhirInteractions, user: InboxUser, stored: StoredResource, codes: Terminology
) -> dict[str, Any]:
    """What the request page, its printable view and the answer form show."""
    task = stored.body or {}
    status = str(task.get("status"))
    reader = Reader(fhir, codes)
    request_body = reader.get(first_reference(task.get("focus"))) or {}
    return {
        "task": task,
        "task_id": stored.id,
        "status": status,
        "status_sv": STATUS_SV.get(status, status),
        "is_open": status in OPEN,
        "can_accept": status in ACCEPTABLE,
        "can_hold": status in CAN_HOLD,
        "on_hold": status == "on-hold",
        "overdue": is_overdue(task, utc_now().date()),
        "due": due_date(task)[:10],
        "unit": reader.organization_name(user.party),
        "kommun": reader.kommun_of(task),
        "person": reader.person(task),
        "question": reader.question(request_body),
        "activities": reader.activities(request_body),
        "consent": reader.consent(request_body),
        "contact": reader.contact(task),
        "messages": reader.messages(stored.reference, user.party),
        "business_status": _concept(task.get("businessStatus"), codes),
        "business_status_code": next(
            (c.get("code") for c in (task.get("businessStatus") or {}).get("coding") or []), ""
        ),
        "status_reason": _concept(task.get("statusReason"), codes),
        "notes": [n for n in task.get("note") or [] if n.get("text")],
        "answer_ref": answer_reference(task),
        "rejection_reasons": rejection_reasons(codes),
        "business_statuses": business_statuses(codes),
    }
