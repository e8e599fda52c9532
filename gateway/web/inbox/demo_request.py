"""A demo request for the demo inbox unit, sent through the normal workflow.

``kv-gateway inbox demo-request`` (run by ``make run``) submits it as Halmstad kommun's
socialtjänst: a question about Cecilia Demodotter, a synthetic person listed at
Vårdcentralen Halmstad Norr, whose journal connection is the web inbox. It is routed,
consent-checked, stored and queued like any kommun's request; the gateway's delivery
worker puts it in the inbox. The same case id is submitted once only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from gateway.api.interactions import FhirInteractions
from gateway.canonical import BASE
from gateway.consent.builder import build_consent
from gateway.database import Database
from gateway.routing.demo_directory import PERSONS
from gateway.routing.resolver import RouteResolver, build_listing_resolver
from gateway.security.audit import AuditLog, AuditTrail, audited_transaction
from gateway.security.caller import Caller, PartyKind
from gateway.settings import Settings
from gateway.store.resources import ResourceStore, utc_now
from gateway.validation.factory import build_validator
from gateway.validation.identifiers import SYSTEM_PERSONNUMMER
from gateway.workflow.hooks import WORKFLOW_HOOKS
from gateway.workflow.routing_adapter import ResolverRouter
from gateway.workflow.submit import SubmitWorkflow

KOMMUN = "Organization/kommun-1380"  # Halmstad
CASE_SYSTEM = "https://halmstad.example.se/ekonomiskt-bistand/arende"
DEMO_CASE_ID = "DEMO-INKORG-1"
EXT = f"{BASE}/StructureDefinition/"


def _coded(name: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": f"{BASE}/CodeSystem/{name}", "code": code}]}


def _activity(kind: str, hours: float, start: str, **texts: str) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [
        {"url": "type", "valueCodeableConcept": _coded("kv-planned-activity-type", kind)},
        {"url": "hoursPerWeek", "valueDecimal": hours},
        {"url": "startDate", "valueDate": start},
    ]
    parts.extend({"url": url, "valueString": text} for url, text in texts.items())
    return {"url": f"{EXT}kv-planned-activity", "extension": parts}


def demo_request_bundle(case_id: str = DEMO_CASE_ID) -> dict[str, Any]:
    """Patient, socialsekreterare, consent and question, as a case system sends them."""
    cecilia = next(p for p in PERSONS if p.key == "cecilia")
    today = utc_now().date()
    patient, practitioner, role, consent, request = (f"urn:uuid:{uuid.uuid4()}" for _ in range(5))
    start = (today + timedelta(days=21)).isoformat()
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": patient,
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": SYSTEM_PERSONNUMMER, "value": cecilia.personnummer}],
                    "name": [{"family": cecilia.family, "given": [cecilia.given]}],
                    "birthDate": cecilia.birth.isoformat(),
                    "address": [{"city": "Halmstad"}],
                },
            },
            {
                "fullUrl": practitioner,
                "resource": {
                    "resourceType": "Practitioner",
                    "name": [{"family": "Handläggare", "given": ["Sara"]}],
                },
            },
            {
                "fullUrl": role,
                "resource": {
                    "resourceType": "PractitionerRole",
                    "practitioner": {"reference": practitioner},
                    "organization": {"reference": KOMMUN},
                    "telecom": [
                        {"system": "phone", "value": "+46 35 13 70 00"},
                        {"system": "email", "value": "ekonomiskt.bistand@halmstad.example.se"},
                    ],
                },
            },
            {
                "fullUrl": consent,
                "resource": build_consent(
                    patient,
                    KOMMUN,
                    start=today.isoformat(),
                    end=(today + timedelta(days=365)).isoformat(),
                    given=utc_now().isoformat(timespec="seconds"),
                    recorded_by=role,
                ),
            },
            {
                "fullUrl": request,
                "resource": {
                    "resourceType": "ServiceRequest",
                    "status": "active",
                    "intent": "order",
                    "identifier": [{"system": CASE_SYSTEM, "value": case_id}],
                    "subject": {"reference": patient},
                    "requester": {"reference": role},
                    "supportingInfo": [{"reference": consent}],
                    "reasonCode": [_coded("kv-request-reason", "ohalsa-uppgiven")],
                    "extension": [
                        _activity(
                            "praktik",
                            20,
                            start,
                            physicalDemands="Butik: mycket stående, lyft upp till 10 kg.",
                            mentalDemands="Kundkontakt, tydliga rutiner.",
                            text="Praktik i kommunens second hand-butik, förmiddagar.",
                        ),
                        _activity("sfi", 6, start),
                        {
                            "url": f"{EXT}kv-request-purpose",
                            "valueString": "Vi behöver veta om Cecilia kan delta i praktik och "
                            "SFI, i vilken omfattning, och vilka anpassningar som behövs.",
                        },
                        {
                            "url": f"{EXT}kv-mix-need-group",
                            "valueCodeableConcept": _coded("kv-mix-need-group", "RH2"),
                        },
                        {
                            "url": f"{EXT}kv-background",
                            "valueString": "Försörjningsstöd sedan ett år. Uppger yrsel och "
                            "trötthet som hindrar heltidsaktivitet.",
                        },
                        {
                            "url": f"{EXT}kv-other-contact",
                            "extension": [
                                {
                                    "url": "type",
                                    "valueCodeableConcept": _coded("kv-other-contact-type", "af"),
                                },
                                {"url": "text", "valueString": "Inskriven sedan våren."},
                            ],
                        },
                        {"url": f"{EXT}kv-avstamningsmote-requested", "valueBoolean": True},
                    ],
                    "note": [
                        {"text": "Personen vill gärna börja praktiken men oroar sig för orken."}
                    ],
                },
            },
        ],
    }


@dataclass(frozen=True)
class DemoRequest:
    task_id: str
    created: bool


def submit_demo_request(
    database: Database, settings: Settings, case_id: str = DEMO_CASE_ID
) -> DemoRequest:
    """Submit the demo request as Halmstad kommun through the workflow, with its audit."""
    caller = Caller(
        client_id="demo-inbox-request",
        party=KOMMUN,
        party_kind=PartyKind.KOMMUN,
        scopes=frozenset({"system/*.cruds"}),
    )
    trail = AuditTrail(caller)
    audit = AuditLog(settings.audit_chain_key.get_secret_value().encode())
    resolver = RouteResolver(build_listing_resolver(settings, database.engine), settings)
    with audited_transaction(database.sessions, audit, trail) as session:
        fhir = FhirInteractions(
            ResourceStore(session),
            build_validator(settings),
            caller,
            settings,
            trail,
            WORKFLOW_HOOKS,
        )
        workflow = SubmitWorkflow(fhir, ResolverRouter(resolver), settings.answer_days)
        submitted = workflow.submit(demo_request_bundle(case_id))
    return DemoRequest(submitted.task.id, submitted.created)
