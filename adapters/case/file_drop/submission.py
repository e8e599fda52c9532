"""The ``$submit`` transaction Bundle for one mapped case.

Patient (personnummer or samordningsnummer), the socialsekreterare's PractitionerRole
(its organisation is the kommun), the Consent (built by :mod:`gateway.consent.builder`
from what the case system records: a written consent names the signed form, an oral one
is recorded by the socialsekreterare) and the ServiceRequest with the kommun's case id.
Patient, Consent and ServiceRequest claim the kv profiles, so the gateway holds them to
them. The custodian is "whichever vårdcentral the person is listed at".
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from adapters.case.file_drop.mapping import Mapping
from adapters.case.file_drop.vendor_records import MappedCase, RecordError
from gateway.canonical import EXT_DESIRED_ANSWER_DATE, code_system, extension, profile
from gateway.consent.builder import build_consent
from gateway.search.query import small_number
from gateway.validation.identifiers import SYSTEM_PERSONNUMMER, SYSTEM_SAMORDNINGSNUMMER

CONSENT_METHODS = ("skriftligt", "muntligt")
REQUEST_TYPE = code_system("kv-request-type")


def idempotency_key(mapping: Mapping, case_id: str) -> str:
    """The same kommun and case id always give the same key (visible ASCII, 67 chars)."""
    seed = "\n".join((mapping.kommun.organization, mapping.kommun.case_system, case_id))
    return "kv-case-drop-" + hashlib.sha256(seed.encode("utf-8")).hexdigest()[:54]


def person_system(number: str) -> str:
    """A samordningsnummer has the day of birth plus 60 (YYYYMMDD with DD 61-91)."""
    day = small_number(number[6:8])
    if len(number) == 12 and day is not None and day > 60:
        return SYSTEM_SAMORDNINGSNUMMER
    return SYSTEM_PERSONNUMMER


def _coding(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _patient(case: MappedCase) -> dict[str, Any]:
    number = case["personnummer"]
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "meta": {"profile": [profile("kv-patient")]},
        "identifier": [{"system": person_system(number), "value": number}],
    }
    name = {
        key: value
        for key, value in (
            ("family", case.get("family_name")),
            ("given", [case["given_name"]] if case.get("given_name") else None),
        )
        if value
    }
    if name:
        patient["name"] = [name]
    return patient


def _role(case: MappedCase, kommun: str) -> dict[str, Any]:
    telecom = [
        {"system": system, "value": case[field]}
        for system, field in (("phone", "officer_phone"), ("email", "officer_email"))
        if case.get(field)
    ]
    role: dict[str, Any] = {
        "resourceType": "PractitionerRole",
        "active": True,
        "organization": {"reference": kommun},
    }
    if telecom:
        role["telecom"] = telecom
    return role


def _consent(case: MappedCase, kommun: str, patient: str, role: str) -> dict[str, Any]:
    method = case["consent_method"]
    if method not in CONSENT_METHODS:
        raise RecordError(
            "Samtyckets form ska vara 'skriftligt' eller 'muntligt' efter mappningen; "
            "lägg till värdet i convert.consent_method.map.",
            "consent_method",
        )
    if method == "skriftligt" and not case.get("consent_form"):
        raise RecordError(
            "Ett skriftligt samtycke kräver en referens till den undertecknade blanketten "
            "(fältet 'consent_form').",
            "consent_form",
        )
    given = case["consent_given"]
    body = build_consent(
        patient,
        kommun,
        method=method,
        start=case.get("consent_valid_from") or given[:10],
        end=case["consent_valid_to"],
        given=given,
        recorded_by=role,
        form_title=case.get("consent_form") or "Samtycke att häva sekretess",
    )
    body["meta"] = {"profile": [profile("kv-consent")]}
    return body


def _planned_activity(case: MappedCase) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [
        {
            "url": "type",
            "valueCodeableConcept": _coding(
                code_system("kv-planned-activity-type"), case["activity_type"]
            ),
        }
    ]
    hours = case.get("activity_hours")
    if hours:
        try:
            parts.append({"url": "hoursPerWeek", "valueDecimal": float(hours.replace(",", "."))})
        except ValueError:
            raise RecordError(
                "Fältet 'activity_hours' ska vara ett tal (timmar per vecka).", "activity_hours"
            ) from None
    if case.get("activity_start"):
        parts.append({"url": "startDate", "valueDate": case["activity_start"]})
    if case.get("activity_text"):
        parts.append({"url": "text", "valueString": case["activity_text"]})
    return {"url": extension("kv-planned-activity"), "extension": parts}


def _service_request(
    case: MappedCase, mapping: Mapping, patient: str, role: str, consent: str
) -> dict[str, Any]:
    extensions = [_planned_activity(case)]
    if case.get("purpose"):
        extensions.append({"url": extension("kv-request-purpose"), "valueString": case["purpose"]})
    if case.get("desired_answer_date"):
        extensions.append(
            {"url": EXT_DESIRED_ANSWER_DATE, "valueDate": case["desired_answer_date"][:10]}
        )
    request: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "meta": {"profile": [profile("kv-servicerequest")]},
        "extension": extensions,
        "identifier": [
            {
                "type": _coding(code_system("kv-identifier-type"), "kommun-arende"),
                "system": mapping.kommun.case_system,
                "value": case["case_id"],
            }
        ],
        "status": "active",
        "intent": "order",
        "category": [_coding(REQUEST_TYPE, "samverkan-socialtjanst-vard")],
        "code": _coding(REQUEST_TYPE, "medicinskt-utlatande-aktivitetsformaga"),
        "subject": {"reference": patient},
        "authoredOn": datetime.now(UTC).isoformat(timespec="seconds"),
        "requester": {"reference": role},
        "reasonCode": [_coding(code_system("kv-request-reason"), case["reason"])],
        "supportingInfo": [{"reference": consent}],
    }
    if case.get("question"):
        request["note"] = [{"text": case["question"]}]
    return request


def build_submission(case: MappedCase, mapping: Mapping) -> dict[str, Any]:
    """The transaction Bundle for ``ServiceRequest/$submit``."""
    kommun = mapping.kommun.organization
    patient, role, consent, request = (f"urn:uuid:{uuid.uuid4()}" for _ in range(4))
    resources = (
        (patient, _patient(case)),
        (role, _role(case, kommun)),
        (consent, _consent(case, kommun, patient, role)),
        (request, _service_request(case, mapping, patient, role, consent)),
    )
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": full_url,
                "resource": resource,
                "request": {"method": "POST", "url": resource["resourceType"]},
            }
            for full_url, resource in resources
        ],
    }
