"""One consent decision: may ``discloser`` disclose to ``recipient`` about ``subject`` now?

The Consent (profile kv-consent) must be active, about the subject, of the right scope and
category, documented (written: the signed form attached or referenced; oral: verified, with
who recorded it and when), and in force: its provision period covers the moment. Its root
provision permits; its actors name the recipient (role IRCP, information recipient) and the
discloser (role CST, custodian) - or, for a consent worded "any vårdcentral where I am
listed", a custodian given by the logical identifier ``listad-vardcentral``, which covers
whatever unit the person is routed to. A deny provision at any depth wins over the
permit when it and the provisions it is nested in match the actors, the action and the
purpose. Every disclosure through the gateway has one purpose, coordination of care
(v3-ActReason COC). Each refusal carries a code and a Swedish text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from gateway.search.dates import local_range, to_naive_utc

CONSENT_SCOPE = ("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy")
CONSENT_CATEGORY = ("http://loinc.org", "59284-0")
METHOD_URL = "https://kv-gateway.se/fhir/StructureDefinition/kv-consent-method"
RECORDED_BY_URL = "https://kv-gateway.se/fhir/StructureDefinition/kv-consent-recorded-by"
ROLE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
CUSTODIAN, RECIPIENT = "CST", "IRCP"
ANY_LISTED_UNIT = ("https://kv-gateway.se/fhir/consent-actor", "listad-vardcentral")
ACTION_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentaction"
# Why the kommun and the vårdcentral exchange anything: care and support coordinated
# around the person (the published example consent names it).
COORDINATION_OF_CARE = ("http://terminology.hl7.org/CodeSystem/v3-ActReason", "COC")


class Action(StrEnum):
    DISCLOSE = "disclose"
    COLLECT = "collect"


@dataclass(frozen=True)
class Disclosure:
    subject: str  # "Patient/…"
    discloser: str  # Organization reference of the vårdcentral
    recipient: str  # Organization reference of the kommun
    action: Action
    at: datetime
    purpose: tuple[str, str] = COORDINATION_OF_CARE  # (system, code)


@dataclass(frozen=True)
class Decision:
    permitted: bool
    code: str
    text_sv: str
    consent: str | None = None

    @classmethod
    def deny(cls, code: str, text_sv: str, consent: str | None = None) -> Decision:
        return cls(False, code, text_sv, consent)


OrganizationOf = Callable[[dict[str, Any]], str | None]


def _codings(concept: Any) -> list[tuple[str | None, str | None]]:
    if not isinstance(concept, dict):
        return []
    return [
        (c.get("system"), c.get("code")) for c in concept.get("coding", []) if isinstance(c, dict)
    ]


def _within(period: dict[str, Any] | None, moment: datetime) -> bool:
    """Whether ``moment`` falls in the period, whose dates are days in Sweden. A bound
    that cannot be read covers nothing: an unreadable end never makes a consent endless."""
    if not period:
        return True
    naive = to_naive_utc(moment)
    start_text, end_text = period.get("start"), period.get("end")
    start = local_range(str(start_text)) if start_text else None
    end = local_range(str(end_text)) if end_text else None
    if (start_text and start is None) or (end_text and end is None):
        return False
    return (start is None or start[0] <= naive) and (end is None or naive < end[1])


def _method(consent: dict[str, Any]) -> str | None:
    for extension in consent.get("extension", []):
        if extension.get("url") == METHOD_URL:
            codings = _codings(extension.get("valueCodeableConcept"))
            if codings:
                return codings[0][1]
            code = extension.get("valueCode")
            return str(code) if code else None
    return None


def _documented(consent: dict[str, Any]) -> bool:
    method = _method(consent)
    if method == "skriftligt":
        return bool(consent.get("sourceAttachment") or consent.get("sourceReference"))
    if method == "muntligt":
        return any(
            v.get("verified") is True
            and v.get("verificationDate")
            and any(e.get("url") == RECORDED_BY_URL for e in v.get("extension", []))
            for v in consent.get("verification", [])
        )
    return False


def _actor_matches(
    actor: dict[str, Any], role: str, organization: str, organization_of: OrganizationOf
) -> bool:
    if (ROLE_SYSTEM, role) not in _codings(actor.get("role")):
        return False
    reference = actor.get("reference") or {}
    identifier = reference.get("identifier") or {}
    if role == CUSTODIAN and (identifier.get("system"), identifier.get("value")) == ANY_LISTED_UNIT:
        return True
    return organization_of(reference) == organization


def _provision_covers(
    provision: dict[str, Any], disclosure: Disclosure, organization_of: OrganizationOf
) -> bool:
    """Whether a (deny) provision applies: every constraint it states must match."""
    if not _within(provision.get("period"), disclosure.at):
        return False
    actors = provision.get("actor", [])
    if actors and not any(
        _actor_matches(a, role, org, organization_of)
        for a in actors
        for role, org in ((CUSTODIAN, disclosure.discloser), (RECIPIENT, disclosure.recipient))
    ):
        return False
    actions = [code for a in provision.get("action", []) for _, code in _codings(a)]
    if actions and disclosure.action.value not in actions:
        return False
    purposes = [(p.get("system"), p.get("code")) for p in provision.get("purpose", [])]
    return not (purposes and disclosure.purpose not in purposes)


WITHDRAWN_SV = "Personen har återkallat sitt samtycke."


def evaluate(
    consent: dict[str, Any] | None,
    disclosure: Disclosure,
    organization_of: OrganizationOf,
) -> Decision:
    """Decide one disclosure. ``organization_of`` maps a Reference to its Organization."""
    if consent is None:
        return Decision.deny("consent-missing", "Det finns inget samtycke för utbytet.")
    ref = f"Consent/{consent['id']}" if consent.get("id") else None
    status = consent.get("status")
    if status != "active":
        text = WITHDRAWN_SV if status in ("inactive", "rejected") else "Samtycket är inte aktivt."
        return Decision.deny("consent-not-active", text, ref)
    if (consent.get("patient") or {}).get("reference") != disclosure.subject:
        return Decision.deny("consent-wrong-person", "Samtycket gäller en annan person.", ref)
    if CONSENT_SCOPE not in _codings(consent.get("scope")) or not any(
        CONSENT_CATEGORY in _codings(c) for c in consent.get("category", [])
    ):
        return Decision.deny(
            "consent-wrong-kind",
            "Samtycket är inte ett samtycke till att lämna ut uppgifter mellan kommun och vård.",
            ref,
        )
    if not _documented(consent):
        return Decision.deny(
            "consent-undocumented",
            "Samtycket är inte dokumenterat: skriftligt samtycke ska bifogas, muntligt samtycke "
            "ska ha uppgift om vem som dokumenterade det och när.",
            ref,
        )
    provision = consent.get("provision") or {}
    if provision.get("type", "permit") != "permit":
        return Decision.deny("consent-denies", "Samtycket tillåter inte utbytet.", ref)
    if not _within(provision.get("period"), disclosure.at):
        return Decision.deny(
            "consent-expired", "Samtycket gäller inte längre (eller ännu inte).", ref
        )
    actors = provision.get("actor", [])
    if not any(_actor_matches(a, RECIPIENT, disclosure.recipient, organization_of) for a in actors):
        return Decision.deny(
            "consent-recipient-not-covered",
            "Samtycket omfattar inte den kommun som ska ta emot uppgifterna.",
            ref,
        )
    if not any(_actor_matches(a, CUSTODIAN, disclosure.discloser, organization_of) for a in actors):
        return Decision.deny(
            "consent-unit-not-covered",
            "Samtycket omfattar inte den vårdcentral där personen är listad.",
            ref,
        )
    actions = [code for a in provision.get("action", []) for _, code in _codings(a)]
    if actions and disclosure.action.value not in actions:
        return Decision.deny("consent-action-not-covered", "Samtycket omfattar inte åtgärden.", ref)
    purposes = [(p.get("system"), p.get("code")) for p in provision.get("purpose", [])]
    if purposes and disclosure.purpose not in purposes:
        return Decision.deny("consent-purpose-not-covered", "Samtycket omfattar inte syftet.", ref)
    if _denied_within(provision, disclosure, organization_of):
        return Decision.deny("consent-denies", "Samtycket undantar just detta utbyte.", ref)
    return Decision(True, "consent-permits", "Samtycket tillåter utbytet.", ref)


def _denied_within(
    provision: dict[str, Any], disclosure: Disclosure, organization_of: OrganizationOf
) -> bool:
    """Whether a deny provision nested in ``provision``, at any depth, covers the
    disclosure, down a path of provisions that all cover it."""
    for nested in provision.get("provision", []):
        if not isinstance(nested, dict):
            continue
        if not _provision_covers(nested, disclosure, organization_of):
            continue
        if nested.get("type") == "deny" or _denied_within(nested, disclosure, organization_of):
            return True
    return False
