"""A valid kv-consent for tests, and the pieces to break it."""

from __future__ import annotations

from typing import Any

KOMMUN = "Organization/kommun-0180"
UNIT = "Organization/vc-jonkoping-centrum"
ROLE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"


def actor(role: str, reference: dict[str, Any]) -> dict[str, Any]:
    return {"role": {"coding": [{"system": ROLE, "code": role}]}, "reference": reference}


def consent(
    patient: str = "Patient/p1",
    *,
    kommun: str = KOMMUN,
    unit: str | None = UNIT,
    method: str = "skriftligt",
    start: str = "2026-01-01",
    end: str = "2027-12-31",
    **extra: Any,
) -> dict[str, Any]:
    custodian = (
        {"reference": unit}
        if unit
        else {
            "identifier": {
                "system": "https://kv-gateway.se/fhir/consent-actor",
                "value": "listad-vardcentral",
            }
        }
    )
    body: dict[str, Any] = {
        "resourceType": "Consent",
        "id": "c1",
        "extension": [
            {
                "url": "https://kv-gateway.se/fhir/StructureDefinition/kv-consent-method",
                "valueCodeableConcept": {
                    "coding": [
                        {
                            "system": "https://kv-gateway.se/fhir/CodeSystem/kv-consent-method",
                            "code": method,
                        }
                    ]
                },
            }
        ],
        "status": "active",
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "patient-privacy",
                }
            ]
        },
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": patient},
        "dateTime": "2026-01-01T10:00:00+01:00",
        "performer": [{"reference": patient}],
        "organization": [{"reference": kommun}],
        "policy": [
            {
                "uri": "https://www.riksdagen.se/sv/dokument-och-lagar/dokument/svensk-forfattningssamling/offentlighets-och-sekretesslag-2009400_sfs-2009-400/"
            }
        ],
        "provision": {
            "type": "permit",
            "period": {"start": start, "end": end},
            "actor": [actor("IRCP", {"reference": kommun}), actor("CST", custodian)],
        },
    }
    if method == "skriftligt":
        body["sourceAttachment"] = {"contentType": "application/pdf", "title": "Samtyckesblankett"}
    else:
        body["verification"] = [
            {
                "extension": [
                    {
                        "url": "https://kv-gateway.se/fhir/StructureDefinition/kv-consent-recorded-by",
                        "valueReference": {"reference": "PractitionerRole/soc1"},
                    }
                ],
                "verified": True,
                "verificationDate": "2026-01-01T10:00:00+01:00",
            }
        ]
    body.update(extra)
    return body
