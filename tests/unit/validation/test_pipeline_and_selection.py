"""Profile selection, the pipeline's Bundle handling, and the app's validator."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.errors import FhirError, Severity
from gateway.validation.identifier_checks import IdentifierValidator
from gateway.validation.options import current_options
from gateway.validation.pipeline import ValidationPipeline
from gateway.validation.profile import ProfileChecker
from gateway.validation.selection import ProfileSelection, ProfileValidator
from gateway.validation.structure import structure_issues
from tests.unit.validation import fixtures as fx

CONFORMANCE = fx.conformance()
CORE_SR = "http://hl7.org/fhir/StructureDefinition/ServiceRequest"


def pipeline(selection: ProfileSelection | None = None) -> ValidationPipeline:
    return ValidationPipeline(
        [
            structure_issues,
            ProfileValidator(
                CONFORMANCE,
                ProfileChecker(CONFORMANCE),
                selection or ProfileSelection(defaults={"ServiceRequest": fx.PROFILE}),
            ),
            IdentifierValidator(),
        ]
    )


def plain_request(**extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        **extra,
    }


def errors(issues: list[Any]) -> list[Any]:
    return [i for i in issues if i.severity in (Severity.ERROR, Severity.FATAL)]


def test_selection_rule() -> None:
    selection = ProfileSelection(defaults={"ServiceRequest": fx.PROFILE})
    assert selection.select(plain_request(), CONFORMANCE) == ([CORE_SR], [])
    assert selection.select(plain_request(), CONFORMANCE, strict=True) == ([fx.PROFILE], [])
    claimed = plain_request(meta={"profile": [f"{fx.PROFILE}|0.1.0", "https://unknown.example/sd"]})
    assert selection.select(claimed, CONFORMANCE) == ([fx.PROFILE], ["https://unknown.example/sd"])
    assert selection.select(plain_request(), CONFORMANCE, (fx.PROFILE,)) == ([fx.PROFILE], [])
    on_write = ProfileSelection(
        defaults={"ServiceRequest": fx.PROFILE}, enforce_on_write=frozenset({"ServiceRequest"})
    )
    assert on_write.select(plain_request(), CONFORMANCE) == ([fx.PROFILE], [])


def test_plain_resources_are_held_to_core_bindings_only() -> None:
    assert errors(pipeline().issues(plain_request())) == []
    with pytest.raises(FhirError) as refused:
        pipeline().check(plain_request(status="bogus"))
    assert refused.value.status == 422
    assert [i.expression for i in refused.value.issues] == [("ServiceRequest.status",)]


def test_claimed_profile_is_enforced_and_strict_adds_the_default() -> None:
    claimed = plain_request(meta={"profile": [fx.PROFILE]})
    assert errors(pipeline().issues(claimed))
    assert errors(pipeline().issues(plain_request(), strict=True))
    assert errors(pipeline().issues(plain_request(), profiles=[fx.PROFILE]))


def test_unknown_profiles() -> None:
    claimed = plain_request(meta={"profile": ["https://unknown.example/sd"]})
    issues = pipeline().issues(claimed)
    assert [i.severity for i in issues] == [Severity.INFORMATION]
    asked = pipeline().issues(plain_request(), profiles=["https://unknown.example/sd"])
    assert [i.severity for i in asked] == [Severity.ERROR]


def test_profile_of_another_type() -> None:
    issues = pipeline().issues(plain_request(), profiles=[fx.PATIENT_PROFILE])
    assert [i.code for i in errors(issues)] == ["invalid"]


def test_structure_errors_stop_the_pipeline() -> None:
    issues = pipeline().issues(plain_request(status="bogus", unknownElement=1))
    assert [i.code for i in issues] == ["structure"]


@pytest.mark.parametrize("value", ["Fel enhet", ["ej-listad"], 3])
def test_a_mistyped_complex_element_is_placed_at_the_element(value: object) -> None:
    task = {"resourceType": "Task", "status": "rejected", "intent": "order"}
    issues = structure_issues({**task, "statusReason": value})
    assert [issue.expression for issue in issues] == [("Task.statusReason",)]
    assert issues[0].text_sv == "Elementet ska vara ett objekt."


def test_bundle_entries_are_checked_and_relocated() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:1", "resource": plain_request()},
            {"fullUrl": "urn:uuid:2", "resource": plain_request(status="bogus")},
        ],
    }
    found = errors(pipeline().issues(bundle))
    assert [i.expression for i in found] == [("Bundle.entry[1].resource.status",)]


def test_options_do_not_leak_between_calls() -> None:
    pipeline().issues(plain_request(), profiles=[fx.PROFILE], strict=True)
    assert current_options().profiles == ()
    assert current_options().strict is False


def test_duplicate_issues_are_reported_once() -> None:
    double = ValidationPipeline([IdentifierValidator(), IdentifierValidator()])
    patient = {"resourceType": "Patient", "identifier": [{"system": fx.PNR, "value": "1"}]}
    assert len(double.issues(patient)) == 1


@pytest.mark.parametrize(
    ("key", "named"),
    [
        ("sta\u202etus", False),  # a bidi override in an unknown key
        ("198503142385", False),  # a personnummer as a key
        ("unknownElement", True),  # a name an element could have
    ],
)
def test_an_unknown_key_is_named_only_if_it_could_be_an_element(key: str, named: bool) -> None:
    """The sender's key is repeated in the answer only when it is shaped as an element name:
    otherwise the expression names the element that holds it."""
    task = {"resourceType": "Task", "status": "requested", "intent": "order"}
    issues = structure_issues({**task, "note": [{"text": "x", key: 1}]})
    expected = f"Task.note[0].{key}" if named else "Task.note[0]"
    assert [issue.expression for issue in issues] == [(expected,)]
    assert (key in (issues[0].diagnostics or "")) is named
