"""The CapabilityStatement, generated from what the server really implements.

It is built from the same tables that drive routing and search (resource interactions,
declared search parameters, the types ``$validate`` checks), so it cannot claim more than
the server does. The operations are those the routers serve: ``$validate``
(gateway.api.validate), ``ServiceRequest/$submit`` (gateway.api.workflow_routes) and
``$resolve-route`` (gateway.routing.api); a test finds every ``$`` route listed here.
"""

from __future__ import annotations

from typing import Any

from gateway import __version__
from gateway.canonical import OP_RESOLVE_ROUTE, OP_SUBMIT
from gateway.resources.types import RESOURCE_INTERACTIONS, VALIDATABLE_TYPES, Interaction
from gateway.search.parameters import parameters_for
from gateway.settings import AuthMode, Settings

_COMMON_PARAMS = [
    {
        "name": "_id",
        "definition": "http://hl7.org/fhir/SearchParameter/Resource-id",
        "type": "token",
        "documentation": "Logical id",
    },
    {
        "name": "_lastUpdated",
        "definition": "http://hl7.org/fhir/SearchParameter/Resource-lastUpdated",
        "type": "date",
        "documentation": "When the current version was stored",
    },
]

# rest.resource.operation and rest.operation: the name without its "$".
_VALIDATE = {
    "name": "validate",
    "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate",
    "documentation": "Check a resource without storing it: POST [type]/$validate or "
    "[type]/[id]/$validate (mode create, update or delete)",
}
_SUBMIT = {
    "name": "submit",
    "definition": OP_SUBMIT,
    "documentation": "A kommun's request as a Bundle: validated, routed, checked against "
    "the consent and stored; the answer is the Task",
}
_RESOLVE_ROUTE = {
    "name": "resolve-route",
    "definition": OP_RESOLVE_ROUTE,
    "documentation": "Where a request for a person would be routed, and why (for the "
    "operator, the test harness and kommuner)",
}
_TYPE_OPERATIONS: dict[str, list[dict[str, str]]] = {"ServiceRequest": [_SUBMIT]}
_SYSTEM_OPERATIONS = [_RESOLVE_ROUTE]


def _operations(resource_type: str) -> list[dict[str, str]]:
    validate = [_VALIDATE] if resource_type in VALIDATABLE_TYPES else []
    return [dict(o) for o in validate + _TYPE_OPERATIONS.get(resource_type, [])]


_SECURITY_TEXT = {
    AuthMode.SMART: (
        "SMART Backend Services: get an access token at the token endpoint with "
        "grant_type=client_credentials and a private_key_jwt client assertion (RS384 or "
        "ES384), then send it as 'Authorization: Bearer'. Tokens live at most 300 s. Scopes "
        "are SMART v2 system scopes (system/Task.rus); each client acts for one party and "
        "sees only that party's cases. Discovery: .well-known/smart-configuration."
    ),
    AuthMode.NONE: "No authentication mode is configured: every FHIR call is refused (401).",
    AuthMode.DEMO: (
        "DEMO MODE: every caller gets a fixed demo identity with all scopes. "
        "Never expose this deployment beyond the local machine."
    ),
}


def _resource_entry(resource_type: str, interactions: frozenset[Interaction]) -> dict[str, Any]:
    ordered = [i for i in Interaction if i in interactions]
    entry: dict[str, Any] = {
        "type": resource_type,
        "interaction": [{"code": i.value} for i in ordered],
        "versioning": "versioned-update",
        "readHistory": True,
        "updateCreate": False,
        "conditionalCreate": Interaction.CREATE in interactions,
        # If-None-Match (a tag, a list of tags or *) gives 304; If-Modified-Since is not read.
        "conditionalRead": "not-match" if Interaction.READ in interactions else "not-supported",
        "conditionalUpdate": False,
        "conditionalDelete": "not-supported",
        "referencePolicy": ["literal", "local"],
    }
    params = [
        {
            "name": p.name,
            **({"definition": p.definition} if p.definition else {}),
            "type": p.type.value,
            "documentation": p.documentation,
        }
        for p in sorted(parameters_for(resource_type).values(), key=lambda p: p.name)
    ]
    entry["searchParam"] = _COMMON_PARAMS + params
    operations = _operations(resource_type)
    if operations:
        entry["operation"] = operations
    return entry


def _resources() -> list[dict[str, Any]]:
    """Every type served, and every type that is not stored but has operations (a Bundle
    is validated), in alphabetical order."""
    entries = []
    for resource_type in sorted(
        RESOURCE_INTERACTIONS.keys() | VALIDATABLE_TYPES | _TYPE_OPERATIONS.keys()
    ):
        interactions = RESOURCE_INTERACTIONS.get(resource_type)
        if interactions is not None:
            entries.append(_resource_entry(resource_type, interactions))
        else:
            entries.append({"type": resource_type, "operation": _operations(resource_type)})
    return entries


def _security(settings: Settings) -> dict[str, Any]:
    security: dict[str, Any] = {"cors": False, "description": _SECURITY_TEXT[settings.auth_mode]}
    if settings.auth_mode is AuthMode.SMART:
        security["service"] = [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                        "code": "SMART-on-FHIR",
                    }
                ]
            }
        ]
        security["extension"] = [
            {
                "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                "extension": [
                    {
                        "url": "token",
                        "valueUri": settings.public_base_url.rstrip("/") + "/auth/token",
                    }
                ],
            }
        ]
    return security


def capability_statement(settings: Settings, published: str) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": published,
        "publisher": "kv-gateway",
        "kind": "instance",
        "software": {"name": "kv-gateway", "version": __version__},
        "implementation": {
            "description": "kv-gateway – förmedlar begäran om medicinskt utlåtande mellan "
            "kommunens socialtjänst och vårdcentralen",
            "url": settings.fhir_base_url,
        },
        "fhirVersion": "4.0.1",
        "format": ["json", "application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "security": _security(settings),
                "resource": _resources(),
                "interaction": [{"code": "transaction"}, {"code": "batch"}],
                "operation": [dict(o) for o in _SYSTEM_OPERATIONS],
            }
        ],
    }
