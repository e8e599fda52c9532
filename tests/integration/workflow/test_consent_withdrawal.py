"""Withdrawals that must not slip through: the revoked form sent again, a withdrawal on the
same day, and a newer Consent that becomes a withdrawal by an update."""

from __future__ import annotations

from typing import Any

from tests.integration.workflow.conftest import ANNA, GAVLE, JONKOPING_VC, World
from tests.support.consent_data import consent
from tests.support.submissions import submission


def _consent_url(world: World, task: dict[str, Any]) -> str:
    request = world.as_kommun("GET", f"/fhir/{task['focus']['reference']}").json()
    return f"/fhir/{request['supportingInfo'][0]['reference']}"


def _refused_as_withdrawn(response: Any) -> None:
    assert response.status_code == 422, response.text
    issue = response.json()["issue"][0]
    assert "återkallat" in issue["details"]["text"]


def test_the_revoked_form_sent_again_is_refused(world: World) -> None:
    task = world.submit(submission(ANNA.personnummer, GAVLE, case_id="igen-1")).json()
    url = _consent_url(world, task)
    revoked = world.as_kommun(
        "PUT", url, {**world.as_kommun("GET", url).json(), "status": "inactive"}
    )
    assert revoked.status_code == 200, revoked.text

    # The same signed form (same dateTime) with a new case.
    _refused_as_withdrawn(world.submit(submission(ANNA.personnummer, GAVLE, case_id="igen-2")))
    assert world.as_kommun("GET", "/fhir/Task", status="requested").json()["total"] == 0


def test_a_withdrawal_dated_the_same_day_withdraws(world: World) -> None:
    given = {"dateTime": "2026-03-01T10:00:00+01:00"}
    task = world.submit(
        submission(ANNA.personnummer, GAVLE, case_id="samma-dag", consent_changes=given)
    ).json()
    withdrawal = consent(task["for"]["reference"], kommun=GAVLE, unit=JONKOPING_VC)
    withdrawal.pop("id")
    withdrawal.update(status="inactive", dateTime="2026-03-01")  # the day, no time
    assert world.as_kommun("POST", "/fhir/Consent", withdrawal).status_code == 201

    assert world.as_kommun("GET", f"/fhir/Task/{task['id']}").json()["status"] == "cancelled"


def test_a_newer_consent_updated_into_a_withdrawal_cancels(world: World) -> None:
    task = world.submit(submission(ANNA.personnummer, GAVLE, case_id="utkast")).json()
    world.deliver()
    newer = consent(task["for"]["reference"], kommun=GAVLE, unit=JONKOPING_VC, status="draft")
    newer.pop("id")
    newer["dateTime"] = "2026-11-20T09:00:00+01:00"  # after the one sent with the request
    draft = world.as_kommun("POST", "/fhir/Consent", newer)
    assert draft.status_code == 201, draft.text
    task_url = f"/fhir/Task/{task['id']}"
    assert world.as_kommun("GET", task_url).json()["status"] == "received"

    updated = world.as_kommun(
        "PUT", f"/fhir/Consent/{draft.json()['id']}", {**draft.json(), "status": "inactive"}
    )
    assert updated.status_code == 200, updated.text
    world.assert_withdrawn(task_url)
