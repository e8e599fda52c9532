"""The consent evaluator: one permit and every way to be refused."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.consent.evaluator import Action, Disclosure, evaluate
from tests.support.consent_data import KOMMUN, UNIT, actor, consent

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def organization_of(reference: dict[str, Any]) -> str | None:
    value = reference.get("reference")
    if isinstance(value, str) and value.startswith("PractitionerRole/soc"):
        return KOMMUN  # the socialsekreterare's role belongs to the kommun
    return value if isinstance(value, str) and value.startswith("Organization/") else None


def disclose(**changes: Any) -> Disclosure:
    values: dict[str, Any] = {
        "subject": "Patient/p1",
        "discloser": UNIT,
        "recipient": KOMMUN,
        "action": Action.DISCLOSE,
        "at": NOW,
    }
    values.update(changes)
    return Disclosure(**values)


def test_written_consent_permits() -> None:
    decision = evaluate(consent(), disclose(), organization_of)
    assert decision.permitted
    assert decision.consent == "Consent/c1"


def test_oral_documented_consent_permits() -> None:
    assert evaluate(consent(method="muntligt"), disclose(), organization_of).permitted


def test_any_listed_unit_wording_covers_the_routed_unit() -> None:
    decision = evaluate(
        consent(unit=None), disclose(discloser="Organization/vc-anywhere"), organization_of
    )
    assert decision.permitted


def test_recipient_named_through_a_practitioner_role() -> None:
    body = consent()
    body["provision"]["actor"][0] = actor("IRCP", {"reference": "PractitionerRole/soc1"})
    assert evaluate(body, disclose(), organization_of).permitted


def _broken(mutate: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    body = copy.deepcopy(base or consent())
    mutate(body)
    return body


@pytest.mark.parametrize(
    ("body", "disclosure", "code"),
    [
        (None, disclose(), "consent-missing"),
        (consent(status="inactive"), disclose(), "consent-not-active"),
        (consent(status="draft"), disclose(), "consent-not-active"),
        (consent(patient="Patient/other"), disclose(), "consent-wrong-person"),
        (
            _broken(lambda b: b.update(category=[{"text": "annat"}])),
            disclose(),
            "consent-wrong-kind",
        ),
        (_broken(lambda b: b.pop("sourceAttachment")), disclose(), "consent-undocumented"),
        (
            _broken(lambda b: b.pop("verification"), consent(method="muntligt")),
            disclose(),
            "consent-undocumented",
        ),
        (consent(end="2026-06-30"), disclose(), "consent-expired"),
        (consent(start="2027-01-01"), disclose(), "consent-expired"),
        (
            consent(),
            disclose(recipient="Organization/kommun-0680"),
            "consent-recipient-not-covered",
        ),
        (consent(), disclose(discloser="Organization/vc-other"), "consent-unit-not-covered"),
        (_broken(lambda b: b["provision"].update(type="deny")), disclose(), "consent-denies"),
        (
            _broken(lambda b: b["provision"].update(action=[{"coding": [{"code": "collect"}]}])),
            disclose(),
            "consent-action-not-covered",
        ),
        (
            _broken(lambda b: b["provision"].update(purpose=[{"system": "s", "code": "research"}])),
            disclose(purpose=("s", "care")),
            "consent-purpose-not-covered",
        ),
        (
            _broken(
                lambda b: b["provision"].update(
                    provision=[{"type": "deny", "actor": [actor("CST", {"reference": UNIT})]}]
                )
            ),
            disclose(),
            "consent-denies",
        ),
    ],
)
def test_refusals(body: dict[str, Any] | None, disclosure: Disclosure, code: str) -> None:
    decision = evaluate(body, disclosure, organization_of)
    assert not decision.permitted
    assert decision.code == code
    assert decision.text_sv


def test_nested_deny_for_another_unit_does_not_block() -> None:
    body = consent()
    body["provision"]["provision"] = [
        {"type": "deny", "actor": [actor("CST", {"reference": "Organization/vc-other"})]}
    ]
    assert evaluate(body, disclose(), organization_of).permitted


def test_a_deny_nested_deeper_still_wins() -> None:
    body = consent()
    kommun_denied = {"type": "deny", "actor": [actor("IRCP", {"reference": KOMMUN})]}
    body["provision"]["provision"] = [{"type": "permit", "provision": [kommun_denied]}]
    decision = evaluate(body, disclose(), organization_of)
    assert (decision.permitted, decision.code) == (False, "consent-denies")


def test_a_deeper_deny_applies_only_where_the_provisions_around_it_do() -> None:
    body = consent()
    elsewhere = {"type": "permit", "actor": [actor("CST", {"reference": "Organization/vc-other"})]}
    elsewhere["provision"] = [{"type": "deny", "actor": [actor("IRCP", {"reference": KOMMUN})]}]
    body["provision"]["provision"] = [elsewhere]
    assert evaluate(body, disclose(), organization_of).permitted


COC = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "COC"}


def test_the_gateways_purpose_is_coordination_of_care() -> None:
    body = consent()
    body["provision"]["purpose"] = [COC]  # as the published example consent words it
    assert evaluate(body, disclose(), organization_of).permitted
    body["provision"]["provision"] = [{"type": "deny", "purpose": [COC]}]
    decision = evaluate(body, disclose(), organization_of)
    assert (decision.permitted, decision.code) == (False, "consent-denies")


def test_a_consent_ends_at_midnight_in_sweden() -> None:
    body = consent(end="2026-11-22")
    evening = disclose(at=datetime(2026, 11, 22, 22, 30, tzinfo=UTC))  # 23.30 in Sweden
    past_midnight = disclose(at=datetime(2026, 11, 22, 23, 30, tzinfo=UTC))  # 00.30
    assert evaluate(body, evening, organization_of).permitted
    assert evaluate(body, past_midnight, organization_of).code == "consent-expired"


@pytest.mark.parametrize("end", ["2026-06-30T23:59:60Z", "2026-02-30", "inte ett datum"])
def test_an_end_that_is_odd_or_unreadable_never_makes_a_consent_endless(end: str) -> None:
    body = consent()
    body["provision"]["period"]["end"] = end
    assert evaluate(body, disclose(), organization_of).code == "consent-expired"


def test_refusal_texts_never_name_the_person() -> None:
    decision = evaluate(
        consent(patient="Patient/191212121212"), disclose(subject="Patient/x"), organization_of
    )
    assert "1912" not in decision.text_sv
