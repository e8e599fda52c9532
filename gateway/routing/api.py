"""``POST /fhir/$resolve-route``: where would a request for this person go, and why.

For support staff and the national test harness, and for a kommun about its own cases:
it asks with its own kommunkod about a person it has sent a request about (403 otherwise).
Input is a Parameters resource:

- ``person`` (valueIdentifier, required): personnummer or samordningsnummer;
- ``kommunkod`` (valueString or valueCode, required): the asking kommun (its länskod
  decides the folkbokföring region and so the listing sources);
- ``service`` (valueString or valueUri, optional): service contract for the routing table;
- ``useCache`` (valueBoolean, optional, default true): false asks the sources again.

A routed answer is 200 with a Parameters resource: ``outcome``, ``protectedIdentity``,
``organization``, ``hsaId``, ``endpoint``, ``connectionType``, ``address``, ``via`` (when
reached through a parent), ``source``, ``cached`` and the reasoning as repeated ``step``
parts (``code`` + Swedish ``text``). Only the chosen listing is shown: never other or
earlier listings.

Every other outcome is an OperationOutcome whose first issue carries the machine code in
``details.coding`` (system ``…/CodeSystem/routing-outcome``) and whose further issues
(severity information) are the reasoning steps:

=====  ==========================  ====================================================
400    invalid                     the Parameters are malformed (``expression`` points)
403    forbidden                   the caller's kind or scopes do not allow the lookup
404    not-listed                  no current primary-care listing in any source
422    ambiguous-listing           two or more units hold a current PV listing
422    unit-not-in-directory       listed at a unit the directory does not know
422    no-route / ambiguous-route  no single Endpoint or vägval for the unit
422    not-authorised              no anropsbehörighet for the route in the table
503    source-unavailable          a source did not answer; ``Retry-After`` says when
=====  ==========================  ====================================================
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from gateway.api.app_state import route_resolver
from gateway.api.media import FhirResponse
from gateway.api.routes import RESOURCE_BODY, Body, Transaction, caller_of
from gateway.errors import FhirError
from gateway.routing import directory
from gateway.routing.directory import CONNECTION_TYPE_SYSTEM
from gateway.routing.person import PersonId, PersonIdError
from gateway.routing.reference_data import kommun
from gateway.routing.resolver import (
    RouteDecision,
    RouteOutcome,
    Step,
)
from gateway.security.audit import AuditTrail
from gateway.security.caller import PartyKind, require_scope
from gateway.security.tenancy import TenantRules
from gateway.store.resources import ResourceStore
from gateway.store.visibility import of_party
from gateway.validation.identifiers import SYSTEM_HSA_ID

router = APIRouter(prefix="/fhir", tags=["Routing"])

OUTCOME_SYSTEM = "https://kv-gateway.se/fhir/CodeSystem/routing-outcome"
STEP_SYSTEM = "https://kv-gateway.se/fhir/CodeSystem/routing-step"
RETRY_AFTER_SECONDS = 30
ALLOWED_PARTIES = frozenset({PartyKind.OPERATOR, PartyKind.TEST_HARNESS, PartyKind.KOMMUN})
_INPUTS = {
    "person": ("valueIdentifier",),
    "kommunkod": ("valueString", "valueCode"),
    "service": ("valueString", "valueUri"),
    "useCache": ("valueBoolean",),
}

# outcome -> (HTTP status, issue code, Swedish text)
_FAILURES: dict[RouteOutcome, tuple[int, str, str]] = {
    RouteOutcome.NOT_LISTED: (
        404,
        "not-found",
        "Personen är inte listad på någon vårdcentral. Ärendet kan inte dirigeras automatiskt.",
    ),
    RouteOutcome.AMBIGUOUS: (
        422,
        "multiple-matches",
        "Personen har mer än en gällande listning. Ärendet kan inte dirigeras automatiskt.",
    ),
    RouteOutcome.UNIT_NOT_IN_DIRECTORY: (
        422,
        "business-rule",
        "Vårdcentralen där personen är listad finns inte i katalogen.",
    ),
    RouteOutcome.NO_ROUTE: (
        422,
        "business-rule",
        "Det finns ingen adress till vårdcentralen där personen är listad.",
    ),
    RouteOutcome.AMBIGUOUS_ROUTE: (
        422,
        "business-rule",
        "Det finns mer än en möjlig adress till vårdcentralen. Katalogen behöver rättas.",
    ),
    RouteOutcome.NOT_AUTHORISED: (
        422,
        "business-rule",
        "Anropsbehörighet till vårdcentralen saknas för tjänstekontraktet.",
    ),
    RouteOutcome.UNAVAILABLE: (
        503,
        "transient",
        "Listningen kunde inte kontrolleras just nu. Försök igen om en stund.",
    ),
}


def _bad(text_sv: str, expression: str, diagnostics: str) -> FhirError:
    return FhirError.single(400, "invalid", text_sv, expression=expression, diagnostics=diagnostics)


def _inputs(body: dict[str, Any]) -> tuple[PersonId, str, str | None, bool]:
    if body.get("resourceType") != "Parameters":
        raise _bad(
            "Anropet ska innehålla en Parameters-resurs.",
            "resourceType",
            "the body must be a Parameters resource",
        )
    parameters = body.get("parameter")
    if not isinstance(parameters, list):
        raise _bad(
            "Parametrarna saknas.", "Parameters.parameter", "Parameters.parameter is required"
        )
    seen: dict[str, tuple[int, str, Any]] = {}
    for index, parameter in enumerate(parameters):
        where = f"Parameters.parameter[{index}]"
        if not isinstance(parameter, dict) or not isinstance(parameter.get("name"), str):
            raise _bad("Parametern saknar namn.", where, "every parameter needs a name")
        name = parameter["name"]
        if name not in _INPUTS:
            raise _bad(
                "Okänd parameter.",
                f"{where}.name",
                "known parameters: person, kommunkod, service, useCache",
            )
        if name in seen:
            raise _bad("Parametern får bara anges en gång.", where, f"{name} is repeated")
        values = [key for key in parameter if key.startswith("value")]
        if len(values) != 1 or values[0] not in _INPUTS[name]:
            raise _bad(
                "Parametern har fel värdetyp.",
                where,
                f"{name} takes {' or '.join(_INPUTS[name])}",
            )
        seen[name] = (index, values[0], parameter[values[0]])
    for required in ("person", "kommunkod"):
        if required not in seen:
            raise _bad(
                f"Parametern {required} saknas.",
                "Parameters.parameter",
                f"the parameter {required} is required",
            )
    index, _, identifier = seen["person"]
    where = f"Parameters.parameter[{index}].valueIdentifier"
    if not isinstance(identifier, dict):
        raise _bad("Personens identitet har fel form.", where, "valueIdentifier must be an object")
    system, value = identifier.get("system"), identifier.get("value")
    try:
        person = PersonId.parse(
            system if isinstance(system, str) else None, value if isinstance(value, str) else None
        )
    except PersonIdError as error:
        suffix = ".system" if error.code == "person-system" else ".value"
        raise _bad(
            error.text_sv, where + suffix, f"person identifier refused ({error.code})"
        ) from None
    index, kind, kommunkod = seen["kommunkod"]
    if not isinstance(kommunkod, str) or kommun(kommunkod) is None:
        raise _bad(
            "Kommunkoden finns inte bland Sveriges 290 kommuner.",
            f"Parameters.parameter[{index}].{kind}",
            "kommunkod must be one of the 290 SCB kommunkoder (4 digits)",
        )
    service: str | None = None
    if "service" in seen:
        index, kind, raw = seen["service"]
        if not isinstance(raw, str) or not raw.strip() or len(raw) > 255:
            raise _bad(
                "Tjänstekontraktet har fel form.",
                f"Parameters.parameter[{index}].{kind}",
                "service must be a non-empty string of at most 255 characters",
            )
        service = raw
    use_cache = True
    if "useCache" in seen:
        index, _, flag = seen["useCache"]
        if not isinstance(flag, bool):
            raise _bad(
                "useCache ska vara true eller false.",
                f"Parameters.parameter[{index}].valueBoolean",
                "useCache must be a boolean",
            )
        use_cache = flag
    return person, kommunkod, service, use_cache


def _check_kommun_may_ask(
    store: ResourceStore, kommun: str, person: PersonId, kommunkod: str, body: dict[str, Any]
) -> list[str]:
    """A kommun asks only as itself, and only about a person it has sent a request about:
    where a person is listed tells where they are cared for, which no kommun may look up
    about anyone it likes. A Patient record alone proves nothing (a kommun may create one
    at will); a ServiceRequest it can only make with ``$submit``, which needs the person's
    consent. Answers the kommun's records of the person, for the audit."""
    asking = directory.kommun_by_code(store, kommunkod)
    if asking is None or asking.reference != kommun:
        raise FhirError.single(
            403,
            "forbidden",
            "Kommunen kan bara slå upp vart den egna kommunens ärenden dirigeras.",
            expression=_parameter_path(body, "kommunkod"),
            diagnostics="a kommun resolves routes with its own kommunkod only",
        )
    own = of_party(kommun)
    records = [patient.reference for patient in directory.patients_of(store, person, own)]
    if not any(directory.requests_about(store, record, own) for record in records):
        raise FhirError.single(
            403,
            "forbidden",
            "Kommunen kan bara slå upp vart ärenden dirigeras för personer som den har "
            "skickat en förfrågan om.",
            expression=_parameter_path(body, "person"),
            diagnostics="a kommun resolves routes only for persons it has sent a request about",
        )
    return records


def _parameter_path(body: dict[str, Any], name: str) -> str:
    """Where the (validated) parameter ``name`` stands in the body."""
    index = next(i for i, p in enumerate(body["parameter"]) if p.get("name") == name)
    return f"Parameters.parameter[{index}]"


def _step_part(step: Step) -> dict[str, Any]:
    return {
        "name": "step",
        "part": [
            {"name": "code", "valueCode": step.code},
            {"name": "text", "valueString": step.text_sv},
        ],
    }


def _routed(decision: RouteDecision) -> dict[str, Any]:
    assert decision.unit is not None
    assert decision.unit.body is not None
    assert decision.way is not None
    assert decision.way.endpoint.body is not None
    listing = decision.listing.listing
    parameters: list[dict[str, Any]] = [
        {"name": "outcome", "valueCode": decision.outcome.value},
        {"name": "protectedIdentity", "valueBoolean": decision.protected_identity},
        {
            "name": "organization",
            "valueReference": {
                "reference": decision.unit.reference,
                "display": decision.unit.body.get("name", decision.unit.id),
            },
        },
        {"name": "hsaId", "valueIdentifier": {"system": SYSTEM_HSA_ID, "value": decision.hsa_id}},
        {"name": "endpoint", "valueReference": {"reference": decision.way.endpoint.reference}},
        {
            "name": "connectionType",
            "valueCoding": {"system": CONNECTION_TYPE_SYSTEM, "code": decision.way.connection_type},
        },
    ]
    address = decision.way.endpoint.body.get("address")
    if isinstance(address, str):
        parameters.append({"name": "address", "valueUrl": address})
    if decision.way.via.id != decision.unit.id:
        parameters.append(
            {"name": "via", "valueReference": {"reference": decision.way.via.reference}}
        )
    if listing is not None:
        parameters.append({"name": "source", "valueCode": listing.source})
    parameters.append({"name": "cached", "valueBoolean": decision.listing.cached})
    parameters += [_step_part(step) for step in decision.steps]
    return {"resourceType": "Parameters", "parameter": parameters}


def _failure(decision: RouteDecision) -> tuple[int, dict[str, Any], dict[str, str]]:
    status, code, text_sv = _FAILURES[decision.outcome]
    issues: list[dict[str, Any]] = [
        {
            "severity": "error",
            "code": code,
            "details": {
                "coding": [{"system": OUTCOME_SYSTEM, "code": decision.outcome.value}],
                "text": text_sv,
            },
            "diagnostics": f"routing outcome {decision.outcome.value}",
        }
    ]
    if decision.protected_identity:
        issues.append(
            {
                "severity": "information",
                "code": "informational",
                "details": {
                    "coding": [{"system": STEP_SYSTEM, "code": "protected-identity"}],
                    "text": "Personen har skyddade personuppgifter.",
                },
            }
        )
    for step in decision.steps:
        issues.append(
            {
                "severity": "information",
                "code": "informational",
                "details": {
                    "coding": [{"system": STEP_SYSTEM, "code": step.code}],
                    "text": step.text_sv,
                },
            }
        )
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else {}
    return status, {"resourceType": "OperationOutcome", "issue": issues}, headers


@router.post(
    "/$resolve-route",
    summary="Resolve where a request for a person would be routed, and why",
    openapi_extra=RESOURCE_BODY,
)
def resolve_route(request: Request, session: Transaction, body: Body) -> Response:
    caller = caller_of(request)
    trail: AuditTrail = request.state.audit_trail
    entry = trail.begin("operation", "Parameters")
    if caller.party_kind not in ALLOWED_PARTIES:
        raise FhirError.single(
            403,
            "forbidden",
            "Din anslutning får inte slå upp vart ärenden dirigeras.",
            diagnostics="$resolve-route is for the operator, the test harness and kommuner",
        )
    require_scope(caller, "Patient", "r")
    require_scope(caller, "Organization", "r")
    person, kommunkod, service, use_cache = _inputs(body)
    about: list[str] = []  # the asker's records of the person, for the audit
    if caller.party_kind is PartyKind.KOMMUN:
        about = _check_kommun_may_ask(ResourceStore(session), caller.party, person, kommunkod, body)
    decision = route_resolver(request).resolve(
        session,
        person,
        kommunkod,
        service_contract=service,
        use_cache=use_cache,
        asked_by=caller.party,
        records=TenantRules(caller, ResourceStore(session)).visibility("Patient"),
    )
    if decision.outcome is RouteOutcome.ROUTED:
        entry.succeed(*about)
        return FhirResponse(_routed(decision), request=request)
    status, outcome, headers = _failure(decision)
    entry.entities.extend(about)
    entry.fail(status)
    return FhirResponse(outcome, status_code=status, headers=headers, request=request)
