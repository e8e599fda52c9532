"""A kommun's request, in either of its two forms: ``ServiceRequest/$submit`` or a
transaction Bundle on ``POST /fhir``.

Both run the same workflow (``gateway.workflow.submit``): validation, routing, consent,
the Task and the outbox row. A kommun's transaction that carries a ServiceRequest is a
submission, never a plain store of resources: a request stored without its Task would
reach no vårdcentral. Its answer is a transaction-response Bundle, one entry per entry
sent, and the ServiceRequest's entry names the Task in its ``outcome``.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from gateway.api.app_state import route_resolver
from gateway.api.bundle_processing import entry_response
from gateway.api.headers import idempotency_key
from gateway.api.interactions import FhirInteractions
from gateway.api.outcome import information
from gateway.errors import FhirError
from gateway.metrics import SUBMISSIONS
from gateway.resources.references import references_in
from gateway.search.index import split_reference
from gateway.security.caller import Caller, PartyKind
from gateway.store.resources import StoredResource, new_id
from gateway.workflow.routing_adapter import ResolverRouter
from gateway.workflow.submit import Submitted, SubmitWorkflow


def submit(
    request: Request,
    fhir: FhirInteractions,
    bundle: dict[str, Any],
    *,
    if_none_exist: str | None = None,
) -> Submitted:
    """Run the workflow for one submission, counted in the metrics."""
    settings = request.app.state.settings
    workflow = SubmitWorkflow(fhir, ResolverRouter(route_resolver(request)), settings.answer_days)
    try:
        submitted = workflow.submit(bundle, idempotency_key(request), if_none_exist=if_none_exist)
    except FhirError as refusal:
        SUBMISSIONS.labels("refused", str(refusal.status)).inc()
        raise
    if submitted.created:
        SUBMISSIONS.labels("created", "201").inc()
    else:
        SUBMISSIONS.labels("duplicate", "200").inc()
    return submitted


def _entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    entries = bundle.get("entry")
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def _type_of(entry: dict[str, Any]) -> str | None:
    resource = entry.get("resource")
    return str(resource.get("resourceType")) if isinstance(resource, dict) else None


def is_kommun_submission(bundle: dict[str, Any], caller: Caller) -> bool:
    """A kommun's transaction that carries a ServiceRequest: its request, to be submitted."""
    return (
        caller.party_kind is PartyKind.KOMMUN
        and bundle.get("type") == "transaction"
        and any(_type_of(entry) == "ServiceRequest" for entry in _entries(bundle))
    )


def submit_transaction(
    request: Request, fhir: FhirInteractions, bundle: dict[str, Any], base_url: str
) -> dict[str, Any]:
    """Submit a kommun's transaction Bundle; answer with its transaction-response."""
    entries = _entries(bundle)
    if_none_exist: str | None = None
    for index, entry in enumerate(entries):
        raw = entry.get("request")
        sent: dict[str, Any] = raw if isinstance(raw, dict) else {}
        if sent.get("method") != "POST":
            raise FhirError.single(
                422,
                "business-rule",
                "En förfrågan skickas som nya resurser: varje post ska ha metoden POST.",
                expression=f"Bundle.entry[{index}].request.method",
                diagnostics="a kommun's transaction with a ServiceRequest takes POST entries only",
            )
        if _type_of(entry) == "ServiceRequest" and isinstance(sent.get("ifNoneExist"), str):
            if_none_exist = sent["ifNoneExist"]
    submitted = submit(request, fhir, bundle, if_none_exist=if_none_exist)
    return {
        "resourceType": "Bundle",
        "id": new_id(),
        "type": "transaction-response",
        "entry": [
            _entry_answer(fhir, index, entry, submitted, base_url)
            for index, entry in enumerate(entries)
        ],
    }


def _entry_answer(
    fhir: FhirInteractions,
    index: int,
    entry: dict[str, Any],
    submitted: Submitted,
    base_url: str,
) -> dict[str, Any]:
    stored = submitted.resources.get(index) or _known(fhir, _type_of(entry), submitted.task)
    created = submitted.created and index in submitted.resources and index not in submitted.existing
    if stored is None:  # nothing stored for it (a duplicate's PractitionerRole, say)
        answer: dict[str, Any] = {"response": {"status": "200 OK"}}
    else:
        answer = {
            "fullUrl": f"{base_url}/{stored.reference}",
            "response": entry_response(base_url, stored, 201 if created else 200),
        }
    if _type_of(entry) == "ServiceRequest":
        task = submitted.task.reference
        text = (
            f"Förfrågan är mottagen och går till vårdcentralen som uppgiften {task}."
            if submitted.created
            else f"Förfrågan fanns redan; den är uppgiften {task}. Inget nytt skapades."
        )
        answer["response"]["outcome"] = information(text, diagnostics=task)
    return answer


def _known(
    fhir: FhirInteractions, resource_type: str | None, task: StoredResource
) -> StoredResource | None:
    """What an entry stands for when the submission stored nothing new for it: the
    kommun's Organization from the directory, or the first submission's request and
    person."""
    body = task.body or {}
    reference = {
        "Organization": fhir.caller.party,
        "ServiceRequest": next(iter(references_in(body.get("focus"))), None),
        "Patient": next(iter(references_in(body.get("for"))), None),
    }.get(resource_type or "")
    if not reference:
        return None
    ref_type, ref_id = split_reference(reference)
    return fhir.store.current(ref_type, ref_id) if ref_type else None
