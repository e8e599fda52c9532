"""A kommun's submission Bundle (Patient, socialsekreterare, Consent, ServiceRequest)."""

from __future__ import annotations

from typing import Any

from gateway.validation.identifiers import SYSTEM_PERSONNUMMER
from tests.support.consent_data import consent

CASE_SYSTEM = "https://kommun.example.se/ekonomiskt-bistand/arende"
P, ROLE, CONSENT, REQUEST = (
    "urn:uuid:1f0c0d2e-0000-4000-8000-000000000001",
    "urn:uuid:1f0c0d2e-0000-4000-8000-000000000002",
    "urn:uuid:1f0c0d2e-0000-4000-8000-000000000003",
    "urn:uuid:1f0c0d2e-0000-4000-8000-000000000004",
)


def submission(
    personnummer: str,
    kommun: str,
    *,
    case_id: str = "2026-0001",
    consent_changes: dict[str, Any] | None = None,
    unit: str | None = None,
    with_consent: bool = True,
) -> dict[str, Any]:
    the_consent = consent(P, kommun=kommun, unit=unit, **(consent_changes or {}))
    the_consent.pop("id")
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": P,
            "resource": {
                "resourceType": "Patient",
                "identifier": [{"system": SYSTEM_PERSONNUMMER, "value": personnummer}],
                "name": [{"family": "Testsson", "given": ["Anna"]}],
                "address": [{"city": "Gävle"}],
            },
            "request": {"method": "POST", "url": "Patient"},
        },
        {
            "fullUrl": ROLE,
            "resource": {
                "resourceType": "PractitionerRole",
                "organization": {"reference": kommun},
                "telecom": [
                    {"system": "phone", "value": "+46 26 000 00 00"},
                    {"system": "email", "value": "soc@kommun.example.se"},
                ],
            },
            "request": {"method": "POST", "url": "PractitionerRole"},
        },
        {
            "fullUrl": REQUEST,
            "resource": {
                "resourceType": "ServiceRequest",
                "identifier": [{"system": CASE_SYSTEM, "value": case_id}],
                "status": "active",
                "intent": "order",
                "subject": {"reference": P},
                "requester": {"reference": ROLE},
                "supportingInfo": [{"reference": CONSENT}] if with_consent else [],
                "note": [{"text": "Personen uppger att värk i ryggen hindrar praktik."}],
            },
            "request": {"method": "POST", "url": "ServiceRequest"},
        },
    ]
    if with_consent:
        entries.append(
            {
                "fullUrl": CONSENT,
                "resource": the_consent,
                "request": {"method": "POST", "url": "Consent"},
            }
        )
    if not with_consent:
        entries[2]["resource"].pop("supportingInfo")
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}
