"""The profile walk, rule by rule, against hand-made StructureDefinitions."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gateway.errors import Issue, Severity
from gateway.validation.profile import ProfileChecker, matches_pattern, referenced_type
from tests.unit.validation import fixtures as fx

CHECKER = ProfileChecker(fx.conformance())


def valid_request() -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "extension": [
            {"url": fx.EXT, "valueCodeableConcept": {"coding": [{"system": fx.CS, "code": "red"}]}}
        ],
        "identifier": [{"system": "urn:case", "value": "A-1"}],
        "status": "active",
        "intent": "order",
        "priority": "routine",
        "subject": {"reference": "Patient/p1"},
    }


def errors(resource: dict[str, Any], profile: str = fx.PROFILE) -> list[Issue]:
    return [i for i in CHECKER.check(resource, profile) if i.severity is Severity.ERROR]


def at(issues: list[Issue], expression: str) -> list[Issue]:
    return [i for i in issues if expression in i.expression]


def test_a_conforming_resource_has_no_errors() -> None:
    assert errors(valid_request()) == []


def test_minimum_cardinality() -> None:
    resource = valid_request()
    del resource["subject"]
    found = at(errors(resource), "ServiceRequest.subject")
    assert [i.code for i in found] == ["required"]
    assert "subject" in found[0].text_sv


def test_maximum_cardinality_zero_on_an_extension_child() -> None:
    resource = valid_request()
    resource["extension"][0]["extension"] = [{"url": "x", "valueString": "y"}]
    assert at(errors(resource), "ServiceRequest.extension[0].extension")


def test_fixed_value() -> None:
    resource = valid_request()
    resource["extension"][0]["url"] = fx.EXT  # still the slice; fixed url holds
    assert errors(resource) == []
    resource["identifier"].append({"system": "urn:other", "value": "x"})
    found = at(errors(resource), "ServiceRequest.identifier[1]")
    assert found, "closed slicing refuses an identifier that matches no slice"


def test_pattern_value() -> None:
    resource = valid_request()
    resource["intent"] = "plan"
    found = at(errors(resource), "ServiceRequest.intent")
    assert [i.code for i in found] == ["value"]
    assert "plan" not in found[0].text_sv


def test_required_binding_of_a_core_code() -> None:
    resource = valid_request()
    resource["status"] = "bogus"
    found = at(errors(resource), "ServiceRequest.status")
    assert [i.code for i in found] == ["code-invalid"]
    assert "bogus" not in found[0].text_sv + (found[0].diagnostics or "")


def test_required_binding_inside_an_extension_profile() -> None:
    resource = valid_request()
    resource["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] = "green"
    found = at(errors(resource), "ServiceRequest.extension[0].value.ofType(CodeableConcept)")
    assert [i.code for i in found] == ["code-invalid"]
    assert "Färger" in found[0].text_sv


def test_nested_codes_of_a_code_system_are_in_the_value_set() -> None:
    resource = valid_request()
    resource["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] = "dark-red"
    assert errors(resource) == []


def test_extensible_binding_gives_a_warning_not_an_error() -> None:
    resource = valid_request()
    resource["category"] = {"coding": [{"system": "urn:x", "code": "y"}]}
    issues = at(CHECKER.check(resource, fx.PROFILE), "ServiceRequest.category")
    assert [i.severity for i in issues] == [Severity.WARNING]
    resource["category"] = {"text": "bara text"}
    assert at(CHECKER.check(resource, fx.PROFILE), "ServiceRequest.category") == []


def test_slice_cardinality() -> None:
    resource = valid_request()
    resource["extension"] = []
    del resource["extension"]
    found = at(errors(resource), "ServiceRequest.extension")
    assert found
    assert "colour" in found[0].text_sv


def test_slice_children_are_checked() -> None:
    resource = valid_request()
    del resource["identifier"][0]["value"]
    assert at(errors(resource), "ServiceRequest.identifier[0].value")


def test_choice_type_restriction() -> None:
    resource = valid_request()
    resource["quantityRatio"] = {"numerator": {"value": 1}}
    found = at(errors(resource), "ServiceRequest.quantity.ofType(Ratio)")
    assert [i.code for i in found] == ["structure"]
    resource = valid_request()
    resource["quantityQuantity"] = {"value": 1}
    assert errors(resource) == []


def test_reference_target_type() -> None:
    resource = valid_request()
    resource["subject"] = {"reference": "Group/g1"}
    found = at(errors(resource), "ServiceRequest.subject.reference")
    assert found
    assert "Patient" in found[0].text_sv
    for fine in ("Patient/p1", "https://x.example/fhir/Patient/p1/_history/2", "urn:uuid:1", "#c"):
        resource["subject"] = {"reference": fine}
        assert errors(resource) == [], fine


def test_min_and_max_value() -> None:
    patient = {"resourceType": "Patient", "identifier": [{"system": "urn:x", "value": "1"}]}
    assert errors({**patient, "multipleBirthInteger": 2}, fx.PATIENT_PROFILE) == []
    found = errors({**patient, "multipleBirthInteger": 12}, fx.PATIENT_PROFILE)
    assert [i.expression for i in found] == [("Patient.multipleBirth.ofType(integer)",)]


def test_invariant_on_a_slice() -> None:
    patient = {"resourceType": "Patient", "identifier": [{"system": fx.PNR, "value": "123"}]}
    found = errors(patient, fx.PATIENT_PROFILE)
    assert [i.expression for i in found] == [("Patient.identifier[0]",)]
    assert found[0].text_sv == "Personnummer ska ha tolv siffror."
    patient["identifier"][0]["value"] = "191212121212"
    assert errors(patient, fx.PATIENT_PROFILE) == []


def test_invariant_on_the_root() -> None:
    resource = valid_request()
    resource["status"] = "on-hold"
    assert at(errors(resource), "ServiceRequest")
    resource["note"] = [{"text": "väntar"}]
    assert errors(resource) == []


def test_core_datatype_binding_is_checked_below_the_profile() -> None:
    resource = valid_request()
    resource["identifier"][0]["use"] = "sometimes"
    found = at(errors(resource), "ServiceRequest.identifier[0].use")
    assert [i.code for i in found] == ["code-invalid"]


def test_must_support_is_information() -> None:
    resource = valid_request()
    del resource["priority"]
    issues = at(CHECKER.check(resource, fx.PROFILE), "ServiceRequest.priority")
    assert [i.severity for i in issues] == [Severity.INFORMATION]
    assert [
        i for i in CHECKER.check(valid_request(), fx.PROFILE) if "priority" in str(i.expression)
    ] == []


def test_core_definition_refuses_a_bogus_status() -> None:
    core = "http://hl7.org/fhir/StructureDefinition/ServiceRequest"
    resource = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/1"},
    }
    assert errors(resource, core) == []
    assert at(errors({**resource, "status": "bogus"}, core), "ServiceRequest.status")
    assert at(errors({**resource, "intent": "wish"}, core), "ServiceRequest.intent")


def test_unknown_profile_gives_nothing() -> None:
    assert CHECKER.check(valid_request(), "https://nowhere.example/sd") == []


def test_the_resource_is_not_changed() -> None:
    resource = valid_request()
    before = copy.deepcopy(resource)
    CHECKER.check(resource, fx.PROFILE)
    assert resource == before


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        (
            {"coding": [{"system": "s", "code": "c", "display": "d"}]},
            {"coding": [{"system": "s", "code": "c"}]},
            True,
        ),
        (
            {"coding": [{"system": "s", "code": "x"}]},
            {"coding": [{"system": "s", "code": "c"}]},
            False,
        ),
        ("order", "order", True),
        (None, {"coding": [{"code": "c"}]}, False),
    ],
)
def test_pattern_semantics(value: Any, pattern: Any, expected: bool) -> None:
    assert matches_pattern(value, pattern) is expected


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("Patient/1", "Patient"),
        ("https://x/fhir/Organization/o/_history/3", "Organization"),
        ("urn:uuid:abc", None),
        ("#contained", None),
        ("nonsense", None),
    ],
)
def test_referenced_type(reference: str, expected: str | None) -> None:
    assert referenced_type(reference) == expected
