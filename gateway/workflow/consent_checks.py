"""Consent checks inside the workflow: resolving actors, later Consents that withdraw an
earlier one, and auditing every decision."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from gateway.api.interactions import FhirInteractions
from gateway.consent.evaluator import Decision, Disclosure, evaluate
from gateway.resources.references import references_in
from gateway.search.dates import date_range
from gateway.search.index import split_reference
from gateway.search.query import parse_search
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


class ConsentCheck(NamedTuple):
    """A check of an existing Task's consent: the outcome, its reason code, the Consent
    that decided it (None when none was found to decide), and the reason in Swedish for
    the parties (no personal data)."""

    permitted: bool
    code: str
    consent: str | None
    text_sv: str


def task_decision(
    store: ResourceStore, task: StoredResource, check: ConsentCheck, caller: Caller | None = None
) -> dict[str, Any]:
    """The consent-decision AuditEvent of a check made for an existing Task: its person,
    the Consent that decided, the kommun that asked (the recipient) and the unit that
    holds the answer (custodian). ``caller`` is None when the gateway checks on its own
    (at dispatch)."""
    body = task.body or {}
    patients, owners = references_in(body.get("for")), references_in(body.get("owner"))
    return AuditEvents().consent_decision(
        caller,
        permitted=check.permitted,
        reason=check.code,
        patient=patients[0] if patients else "",
        consent=check.consent,
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


def withdrawn_since(
    store: ResourceStore, consent_id: str | None, since: datetime, disclosure: Disclosure
) -> bool:
    """Whether a Consent of the disclosure's person (other than ``consent_id``) withdraws
    what a consent given at ``since`` permitted: one that counts from after then
    (:func:`withdrawn_at`)."""
    if not disclosure.subject:
        return False
    query = parse_search("Consent", [("patient", disclosure.subject), ("_count", "200")])
    later, _ = store.search(query, with_total=False)
    return any(
        _withdraws(store, other, disclosure)
        for other in later
        if other.id != consent_id and withdrawn_at(other) > since
    )


def may_withdraw(consent: dict[str, Any]) -> bool:
    """Whether a Consent could withdraw anything at all: it is inactive or rejected, or
    it has a deny provision. A plain permit never does, so it needs no search."""
    if consent.get("status") in ("inactive", "rejected"):
        return True
    provisions = [consent.get("provision") or {}]
    while provisions:
        provision = provisions.pop()
        if provision.get("type") == "deny":
            return True
        provisions.extend(p for p in provision.get("provision", []) if isinstance(p, dict))
    return False


def _withdraws(store: ResourceStore, consent: StoredResource, disclosure: Disclosure) -> bool:
    """A Consent of this kind, for this person, that is inactive or rejected, or that
    denies this exchange. A draft, a proposal or an entry in error says nothing yet."""
    body = consent.body or {}
    status = body.get("status")
    if status not in ("active", "inactive", "rejected"):
        return False
    # Judged as if active: the evaluator stops at the status before person and kind.
    code = evaluate({**body, "status": "active"}, disclosure, organization_of(store)).code
    if code in ("consent-wrong-person", "consent-wrong-kind"):
        return False
    return status != "active" or code == "consent-denies"


def withdrawn_at(consent: StoredResource) -> datetime:
    """From when a withdrawing Consent counts (naive UTC): the end of the span its
    ``dateTime`` names, exclusive (a date alone: the next midnight; a time: its next
    second), or else when it was stored. So a consent given at the same moment, on the
    same day, or as the very form that was later set inactive is withdrawn, not kept."""
    body = consent.body or {}
    given = body.get("dateTime")
    span = date_range(given) if isinstance(given, str) else None
    if span is not None:
        return span[1]
    return consent.last_updated.astimezone(UTC).replace(tzinfo=None)


def recorded(consent: StoredResource) -> datetime:
    """When the person gave it (Consent.dateTime, naive UTC), or else when it was stored."""
    return given_at(consent.body or {}, consent.last_updated)


def given_at(consent: dict[str, Any], otherwise: datetime) -> datetime:
    """Consent.dateTime as naive UTC, or ``otherwise`` (aware) when it has none."""
    given = consent.get("dateTime")
    span = date_range(given) if isinstance(given, str) else None
    if span is not None:
        return span[0]
    return otherwise.astimezone(UTC).replace(tzinfo=None)
