"""The CapabilityStatement, generated from what the server really implements.

It is built from the same tables that drive routing and search (resource interactions and
declared search parameters), so it cannot claim more than the server does.
"""

from __future__ import annotations

from typing import Any

from gateway import __version__
from gateway.resources.types import RESOURCE_INTERACTIONS, Interaction
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
        "conditionalRead": "not-supported",
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
    return entry


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
                "resource": [
                    _resource_entry(t, i) for t, i in sorted(RESOURCE_INTERACTIONS.items())
                ],
                "interaction": [{"code": "transaction"}, {"code": "batch"}],
            }
        ],
    }
