"""Building a kv-consent from what a case system records (for adapters, the demo, tests).

A written consent refers to the signed form; an oral one records who documented it and
when. Without a named unit the custodian is "whichever vårdcentral the person is listed
at" (see the evaluator).
"""

from __future__ import annotations

from typing import Any

from gateway.canonical import code_system, extension
from gateway.consent.evaluator import (
    ANY_LISTED_UNIT,
    CONSENT_CATEGORY,
    CONSENT_SCOPE,
    CUSTODIAN,
    METHOD_URL,
    RECIPIENT,
    RECORDED_BY_URL,
    ROLE_SYSTEM,
)

OSL_12_2 = (
    "https://www.riksdagen.se/sv/dokument-och-lagar/dokument/svensk-forfattningssamling/"
    "offentlighets-och-sekretesslag-2009400_sfs-2009-400/"
)


def consent_actor(role: str, reference: dict[str, Any]) -> dict[str, Any]:
    return {"role": {"coding": [{"system": ROLE_SYSTEM, "code": role}]}, "reference": reference}


def build_consent(
    patient: str,
    kommun: str,
    *,
    unit: str | None = None,
    method: str = "skriftligt",
    start: str,
    end: str,
    given: str,
    recorded_by: str | None = None,
    form_title: str = "Samtycke att häva sekretess",
) -> dict[str, Any]:
    custodian = (
        {"reference": unit}
        if unit
        else {"identifier": {"system": ANY_LISTED_UNIT[0], "value": ANY_LISTED_UNIT[1]}}
    )
    body: dict[str, Any] = {
        "resourceType": "Consent",
        "extension": [
            {
                "url": METHOD_URL,
                "valueCodeableConcept": {
                    "coding": [{"system": code_system("kv-consent-method"), "code": method}]
                },
            }
        ],
        "status": "active",
        "scope": {"coding": [{"system": CONSENT_SCOPE[0], "code": CONSENT_SCOPE[1]}]},
        "category": [{"coding": [{"system": CONSENT_CATEGORY[0], "code": CONSENT_CATEGORY[1]}]}],
        "patient": {"reference": patient},
        "dateTime": given,
        "performer": [{"reference": patient}],
        "organization": [{"reference": kommun}],
        "policy": [{"uri": OSL_12_2}],
        "provision": {
            "type": "permit",
            "period": {"start": start, "end": end},
            "actor": [
                consent_actor(RECIPIENT, {"reference": kommun}),
                consent_actor(CUSTODIAN, custodian),
            ],
        },
    }
    if method == "skriftligt":
        body["sourceAttachment"] = {"contentType": "application/pdf", "title": form_title}
    else:
        body["verification"] = [
            {
                "extension": [
                    {"url": RECORDED_BY_URL, "valueReference": {"reference": recorded_by or ""}}
                ],
                "verified": True,
                "verificationDate": given,
            }
        ]
    return body


assert extension("kv-consent-method") == METHOD_URL
