"""The search index walks plain element paths itself; it must select exactly what
fhirpathpy selects, for every declared parameter, on every example resource."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.search.parameters import SEARCH_PARAMETERS, SearchParameter, parameters_for

EXAMPLES = Path(__file__).resolve().parents[2] / "profiles" / "compiled"
EXT = "https://kv-gateway.se/fhir/StructureDefinition/"


def _examples() -> list[dict[str, Any]]:
    found = []
    for path in sorted(EXAMPLES.rglob("*.json")):
        body = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(body, dict) and body.get("resourceType") not in (None, "ImplementationGuide"):
            found.append(body)
    return found


CRAFTED: list[dict[str, Any]] = [
    # lists inside lists, empty lists, nulls in lists, primitives with extensions only
    {
        "resourceType": "Consent",
        "status": "active",
        "_status": {"extension": [{"url": "http://example.org/x", "valueString": "y"}]},
        "patient": {"reference": "Patient/p1"},
        "provision": {
            "actor": [{"reference": {"reference": "Organization/a"}}, {"role": {}}],
            "provision": [
                {"actor": [{"reference": {"reference": "Organization/b"}}]},
                {"actor": []},
                {},
            ],
        },
    },
    {"resourceType": "Organization", "name": "Vårdcentralen X", "alias": ["A", "B"]},
    {"resourceType": "Organization", "identifier": [], "partOf": {}},
    {"resourceType": "Task", "status": "requested", "restriction": {"period": {"end": "2026"}}},
    {"resourceType": "Task", "owner": {"display": "utan referens"}, "basedOn": []},
    # extension chains: several matches, no value, other urls, an empty list
    {
        "resourceType": "ServiceRequest",
        "extension": [
            {
                "url": f"{EXT}kv-planned-activity",
                "extension": [
                    {"url": "type"},
                    {"url": "type", "valueCodeableConcept": {"text": "x"}},
                ],
            },
            {"url": f"{EXT}kv-planned-activity", "extension": []},
            {"url": f"{EXT}kv-mix-need-group"},
            {"url": f"{EXT}kv-desired-answer-date", "valueDate": "2027-01-01"},
            {"url": "http://example.org/annat", "valueString": "y"},
        ],
    },
    {"resourceType": "ServiceRequest", "extension": [], "status": "active"},
]


def _cases() -> list[tuple[SearchParameter, dict[str, Any]]]:
    cases = []
    for resource in [*_examples(), *CRAFTED]:
        for parameter in parameters_for(resource["resourceType"]).values():
            cases.append((parameter, resource))
    return cases


def test_there_are_examples_to_compare() -> None:
    assert len(_examples()) >= 20
    assert len(_cases()) >= 200


@pytest.mark.parametrize(("parameter", "resource"), _cases())
def test_the_walk_selects_what_fhirpath_selects(
    parameter: SearchParameter, resource: dict[str, Any]
) -> None:
    assert parameter.values(resource) == list(parameter.evaluate(resource, None))


def test_a_union_keeps_the_order_of_its_parts() -> None:
    name = parameters_for("Organization")["name"]
    assert name.values({"resourceType": "Organization", "name": "N", "alias": ["A"]}) == [
        "N",
        "A",
    ]


def test_every_parameter_of_the_gateways_own_is_defined_in_the_ig() -> None:
    """A parameter whose definition is the gateway's must be published, with the same
    code, base, type and expression; the CapabilityStatement points clients there."""
    published = {
        body["url"]: body
        for body in (json.loads(p.read_text()) for p in EXAMPLES.glob("SearchParameter-*.json"))
    }
    own = [
        p
        for by_name in SEARCH_PARAMETERS.values()
        for p in by_name.values()
        if p.definition and p.definition.startswith("https://kv-gateway.se/")
    ]
    assert {p.name for p in own} >= {"due", "restriction-period"}
    for parameter in own:
        definition = published.get(parameter.definition or "")
        assert definition is not None, f"{parameter.definition} is not in the IG"
        assert definition["code"] == parameter.name
        assert definition["base"] == [parameter.resource_type]
        assert definition["type"] == parameter.type.value
        assert definition["expression"] == parameter.expression


def _core_element_types() -> dict[str, set[str]]:
    """Element path -> its type codes, from the core StructureDefinitions the gateway ships."""
    from gateway.validation.conformance import CORE_SUBSET

    core = json.loads(CORE_SUBSET.read_text(encoding="utf-8"))
    return {
        element["path"]: {t["code"] for t in element.get("type", [])}
        for definition in core["structureDefinitions"]
        for element in definition.get("snapshot", {}).get("element", [])
    }


def test_exactly_the_tokens_on_boolean_elements_are_booleans() -> None:
    """A boolean takes true or false and nothing else; the table says which tokens are."""
    types = _core_element_types()
    booleans = set()
    for by_name in SEARCH_PARAMETERS.values():
        for parameter in by_name.values():
            paths = [part.strip() for part in parameter.expression.split("|")]
            on_boolean = all(types.get(path) == {"boolean"} for path in paths)
            assert parameter.boolean == (on_boolean and parameter.type.value == "token"), (
                parameter.resource_type,
                parameter.name,
            )
            if parameter.boolean:
                booleans.add(f"{parameter.resource_type}.{parameter.name}")
    assert booleans >= {"Organization.active"}
