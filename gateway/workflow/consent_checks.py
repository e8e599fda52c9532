"""Consent checks inside the workflow: resolving actors, and auditing every decision."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.api.interactions import FhirInteractions
from gateway.consent.evaluator import Decision
from gateway.resources.references import references_in
from gateway.search.index import split_reference
from gateway.security.audit import AuditEvents
from gateway.security.caller import Caller
from gateway.store.resources import ResourceStore, StoredResource


def organization_of(store: ResourceStore) -> Callable[[dict[str, Any]], str | None]:
    """Maps a Reference to its Organization: itself, or a PractitionerRole's organization."""

    def resolve(reference: dict[str, Any]) -> str | None:
        value = reference.get("reference")
        if not isinstance(value, str):
            return None
        ref_type, ref_id = split_reference(value)
        if ref_type == "Organization":
            return f"Organization/{ref_id}"
        if ref_type == "PractitionerRole":
            role = store.current("PractitionerRole", ref_id)
            organizations = references_in((role.body or {}).get("organization")) if role else []
            return organizations[0] if organizations else None
        return None

    return resolve


def task_decision(
    store: ResourceStore,
    task: StoredResource,
    permitted: bool,
    code: str,
    caller: Caller | None = None,
) -> dict[str, Any]:
    """The consent-decision AuditEvent of a check made for an existing Task: its person,
    the kommun that asked (the recipient) and the unit that holds the answer (custodian).
    ``caller`` is None when the gateway checks on its own (at dispatch)."""
    body = task.body or {}
    patients, owners = references_in(body.get("for")), references_in(body.get("owner"))
    return AuditEvents().consent_decision(
        caller,
        permitted=permitted,
        reason=code,
        patient=patients[0] if patients else "",
        consent=None,
        recipient=organization_of(store)(body.get("requester") or {}) or "",
        custodian=owners[0] if owners else "",
    )


def record_decision(
    fhir: FhirInteractions, decision: Decision, patient: str, recipient: str, custodian: str
) -> None:
    # Built here; written and chained with the rest of the request's trail.
    fhir.trail.events.append(
        AuditEvents().consent_decision(
            fhir.caller,
            permitted=decision.permitted,
            reason=decision.code,
            patient=patient,
            consent=decision.consent,
            recipient=recipient,
            custodian=custodian,
        )
    )
