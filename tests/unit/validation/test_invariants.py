"""FHIRPath invariants: typed evaluation, caching, native forms, engine gaps."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.errors import Severity
from gateway.validation.invariants import NATIVE, Constraint, InvariantEngine

ENGINE = InvariantEngine()
FHIRPATH_ONLY = InvariantEngine(native=False)
ROOT: dict[str, Any] = {"resourceType": "ServiceRequest"}
P = {"resourceType": "Patient"}
BUNDLES: list[dict[str, Any]] = [
    {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:1",
                "resource": P,
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": "urn:uuid:1",
                "resource": P,
                "request": {"method": "POST", "url": "Patient"},
            },
        ],
    },
    {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"fullUrl": "urn:uuid:1", "resource": P}],
    },
    {
        "resourceType": "Bundle",
        "type": "collection",
        "total": 3,
        "entry": [{"resource": P, "search": {"mode": "match"}, "response": {"status": "200"}}],
    },
    {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 1,
        "entry": [
            {"fullUrl": "https://x/Patient/1", "resource": {**P, "meta": {"versionId": "1"}}},
            {"fullUrl": "https://x/Patient/1", "resource": {**P, "meta": {"versionId": "2"}}},
        ],
    },
    {
        "resourceType": "Bundle",
        "type": "document",
        "identifier": {"system": "s"},
        "entry": [{"resource": P}],
    },
    {
        "resourceType": "Bundle",
        "type": "document",
        "identifier": {"system": "s", "value": "v"},
        "timestamp": "2025-01-01T00:00:00Z",
        "entry": [{"resource": {"resourceType": "Composition"}}],
    },
    {"resourceType": "Bundle", "type": "message", "entry": [{"resource": P}]},
    {
        "resourceType": "Bundle",
        "type": "batch-response",
        "entry": [{"response": {"status": "201"}}],
    },
]


def constraint(key: str, expression: str, severity: Severity = Severity.ERROR) -> Constraint:
    return Constraint(key, severity, "Regeln är bruten.", expression)


@pytest.mark.parametrize(
    ("node", "type_path"),
    [
        ({"url": "u", "valueString": "v"}, "Extension"),
        ({"url": "u", "extension": [{"url": "a", "valueString": "b"}]}, "Extension"),
        ({"url": "u"}, "Extension"),
        (
            {"url": "u", "valueString": "v", "extension": [{"url": "a", "valueString": "b"}]},
            "Extension",
        ),
        ({"resourceType": "Patient"}, "Patient"),
        ({"resourceType": "Patient", "text": {"status": "generated", "div": "<div/>"}}, "Patient"),
        (
            {
                "resourceType": "Patient",
                "contained": [
                    {"resourceType": "Patient", "contained": [{"resourceType": "Patient"}]}
                ],
            },
            "Patient",
        ),
        (
            {
                "resourceType": "Patient",
                "contained": [{"resourceType": "Patient", "meta": {"versionId": "1"}}],
            },
            "Patient",
        ),
        (
            {
                "resourceType": "Patient",
                "contained": [{"resourceType": "Patient", "meta": {"security": [{"code": "R"}]}}],
            },
            "Patient",
        ),
        (
            {
                "resourceType": "Patient",
                "contained": [{"resourceType": "Patient", "meta": {"tag": [{"code": "t"}]}}],
            },
            "Patient",
        ),
        *[(bundle, "Bundle") for bundle in BUNDLES],
        (
            {
                "fullUrl": "https://x/fhir/Patient/1/_history/2",
                "resource": {"resourceType": "Patient"},
            },
            "Bundle.entry",
        ),
        ({"fullUrl": "urn:uuid:1"}, "Bundle.entry"),
        (
            {
                "resourceType": "Consent",
                "scope": {"coding": [{"system": "something", "code": "research"}]},
            },
            "Consent",
        ),
        (
            {
                "resourceType": "Consent",
                "policyRule": {"text": "x"},
                "patient": {"reference": "Patient/1"},
            },
            "Consent",
        ),
        ({"resourceType": "Organization", "name": "x"}, "Organization"),
        ({"resourceType": "ServiceRequest", "orderDetail": [{"text": "x"}]}, "ServiceRequest"),
    ],
)
def test_native_forms_agree_with_their_fhirpath(node: dict[str, Any], type_path: str) -> None:
    compared = 0
    for key, (expression, native) in NATIVE.items():
        if native(node, node) is None:
            continue  # deferred to FHIRPath
        c = constraint(key, expression)
        fhirpath = InvariantEngine(native=False).holds(c, node, type_path, node)
        if fhirpath is None:
            continue  # fhirpathpy cannot evaluate it (bdl-10: hasValue())
        assert ENGINE.holds(c, node, type_path, node) == fhirpath, key
        compared += 1
    assert compared >= 20


def test_an_own_invariant_holds_and_fails() -> None:
    c = constraint("kv-x", "status = 'rejected' implies statusReason.exists()")
    assert (
        ENGINE.holds(c, {"status": "rejected", "statusReason": {"text": "x"}}, "Task", ROOT) is True
    )
    assert ENGINE.holds(c, {"status": "rejected"}, "Task", ROOT) is False
    issue = ENGINE.issue(c, "Task")
    assert issue.text_sv == "Regeln är bruten."
    assert issue.expression == ("Task",)


def test_typed_evaluation_resolves_choice_elements() -> None:
    c = constraint("kv-typed", "value.ofType(CodeableConcept).coding.code = 'a'")
    node = {"url": "u", "valueCodeableConcept": {"coding": [{"code": "a"}]}}
    assert ENGINE.holds(c, node, "Extension", ROOT) is True
    node["valueCodeableConcept"]["coding"][0]["code"] = "b"
    assert ENGINE.holds(c, node, "Extension", ROOT) is False


def test_percent_resource_is_the_root() -> None:
    c = constraint("kv-root", "%resource.status = 'active'")
    assert ENGINE.holds(c, {}, "Identifier", {"status": "active"}) is True
    assert ENGINE.holds(c, {}, "Identifier", {"status": "draft"}) is False


def test_core_invariants_get_swedish_texts() -> None:
    issue = ENGINE.issue(constraint("qrs-1", "(answer.exists() and item.exists()).not()"), "X")
    assert "svar" in issue.text_sv
    assert (
        ENGINE.issue(constraint("zz-9", "true"), "X").text_sv == "Resursen bryter mot regeln zz-9."
    )
    assert (
        ENGINE.issue(constraint("dom-6", "text.`div`.exists()", Severity.WARNING), "X").severity
        is Severity.INFORMATION
    )


def test_unparseable_or_failing_expressions_are_skipped() -> None:
    engine = InvariantEngine()
    assert engine.holds(constraint("bad", "((("), {}, "Patient", ROOT) is None
    assert engine.holds(constraint("bad2", "unknownFunction()"), {}, "Patient", ROOT) is None


def test_expressions_are_parsed_once() -> None:
    engine = InvariantEngine()
    c = constraint("kv-once", "id.exists()")
    engine.precompile(c)
    parsed = engine._parsed[c.expression]
    engine.holds(c, {"id": "1"}, "Patient", ROOT)
    assert engine._parsed[c.expression] is parsed
