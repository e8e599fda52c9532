"""Withdrawals that must not slip through: the revoked form sent again, a withdrawal on the
same day, and a newer Consent that becomes a withdrawal by an update."""

from __future__ import annotations

from typing import Any

from gateway.security.caller import PartyKind
from tests.integration.workflow.conftest import ANNA, GAVLE, JONKOPING_VC, World
from tests.support.auth import bearer, register_client
from tests.support.consent_data import consent
from tests.support.fhir_data import FHIR_JSON
from tests.support.submissions import submission

STOCKHOLM = "Organization/kommun-0180"


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


def test_another_kommun_cannot_withdraw_for_a_person_it_does_not_see(world: World) -> None:
    """Gävle's request rests on Gävle's record of the person. Stockholm, which has no case
    for her, learnt the record's id: a withdrawing Consent naming it is refused as if the
    record did not exist, and Gävle's request goes on."""
    task = world.submit(submission(ANNA.personnummer, GAVLE, case_id="annan-kommun")).json()
    stockholm = bearer(world.http, register_client(world.app, STOCKHOLM, PartyKind.KOMMUN))
    for kommun in (STOCKHOLM, GAVLE):  # in its own name or in Gävle's
        withdrawal = consent(task["for"]["reference"], kommun=kommun, unit=JONKOPING_VC)
        withdrawal.pop("id")
        withdrawal.update(status="inactive", dateTime="2026-12-01T10:00:00+01:00")
        refused = world.http.post(
            "/fhir/Consent", json=withdrawal, headers={**stockholm, **FHIR_JSON}
        )
        assert refused.status_code == 404, refused.text
        issue = refused.json()["issue"][0]
        assert issue["expression"] == ["Consent.patient.reference"]
        assert "behörighet" in issue["details"]["text"]

    assert world.as_kommun("GET", f"/fhir/Task/{task['id']}").json()["status"] == "requested"
    mine = world.as_kommun("GET", "/fhir/Consent", patient=task["for"]["reference"]).json()
    assert mine["total"] == 1, "nothing was stored beside Gävle's own consent"
