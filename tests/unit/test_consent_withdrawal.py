"""Which Consents are worth a search for what they might withdraw."""

from __future__ import annotations

from gateway.workflow.consent_checks import may_withdraw
from tests.support.consent_data import consent


def test_a_plain_permit_withdraws_nothing_and_needs_no_search() -> None:
    assert not may_withdraw(consent())
    assert not may_withdraw(consent(status="draft"))


def test_inactive_rejected_or_any_deny_provision_may_withdraw() -> None:
    assert may_withdraw(consent(status="inactive"))
    assert may_withdraw(consent(status="rejected"))
    denying = consent()
    denying["provision"]["type"] = "deny"
    assert may_withdraw(denying)
    nested = consent()
    nested["provision"]["provision"] = [{"provision": [{"type": "deny"}]}]
    assert may_withdraw(nested)
