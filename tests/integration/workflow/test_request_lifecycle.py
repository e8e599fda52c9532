"""The whole story on both backends: submit → routed → delivered → answered → kommun told
and reads the answer; and every refusal on the way."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.canonical import QUESTIONNAIRE
from gateway.cli.security import DEMO_CLIENTS
from gateway.routing.demo_directory import PERSONS
from gateway.security.caller import PartyKind
from gateway.workflow import subscriptions
from tests.integration.workflow.conftest import ANNA, FREDRIK, GAVLE, JONKOPING_VC, World
from tests.support.answers import answer_to
from tests.support.auth import bearer, register_client
from tests.support.consent_data import consent
from tests.support.fhir_data import FHIR_JSON, patient
from tests.support.submissions import submission


def _subscription(world: World, criteria: str, secret: str) -> dict[str, Any]:
    return {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "Svar på förfrågningar",
        "criteria": criteria,
        "channel": {
            "type": "rest-hook",
            "endpoint": world.webhook_url,
            "header": [f"Authorization: Bearer {secret}"],
        },
    }


def _subscribe(world: World) -> None:
    created = world.as_kommun(
        "POST", "/fhir/Subscription", _subscription(world, "Task?status=completed", "hook-secret")
    )
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "active"


def test_every_subscription_whose_owner_sees_the_task_is_told_and_no_other(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(subscriptions, "_PAGE", 2)  # three subscriptions span two pages
    for number in range(3):
        created = world.as_kommun(
            "POST",
            "/fhir/Subscription",
            _subscription(world, "Task?status=requested", f"mine-{number}"),
        )
        assert created.status_code == 201, created.text
    stockholm = register_client(world.app, "Organization/kommun-0180", PartyKind.KOMMUN)
    foreign = world.http.post(
        "/fhir/Subscription",
        json=_subscription(world, "Task?status=requested", "not-mine"),
        headers={**bearer(world.http, stockholm), **FHIR_JSON},
    )
    assert foreign.status_code == 201, foreign.text

    submitted = world.submit(submission(ANNA.personnummer, GAVLE, case_id="told-1"))
    assert submitted.status_code == 201, submitted.text
    world.deliver()
    told = sorted(n.headers["authorization"] for n in world.webhook.received)
    assert told == ["Bearer mine-0", "Bearer mine-1", "Bearer mine-2"]


def test_whole_story_from_submit_toanswer_to(world: World) -> None:
    _subscribe(world)
    response = world.submit(submission(ANNA.personnummer, GAVLE))
    assert response.status_code == 201, response.text
    task = response.json()
    assert task["resourceType"] == "Task"
    assert response.headers["location"].startswith("http://testserver/fhir/Task/")
    assert task["status"] == "requested"
    assert task["owner"] == {"reference": JONKOPING_VC}, "routed across region borders"
    assert task["input"][0]["valueCanonical"].startswith(QUESTIONNAIRE)
    assert task["restriction"]["period"]["end"]
    request_ref = task["focus"]["reference"]

    assert world.deliver() >= 1
    assert len(world.peer.received) == 1
    delivered = world.peer.received[0]
    assert delivered.body["type"] == "transaction"
    assert {e["resource"]["resourceType"] for e in delivered.body["entry"]} >= {
        "Task",
        "ServiceRequest",
        "Patient",
        "Consent",
    }
    assert delivered.headers["idempotency-key"] == f"deliver:Task/{task['id']}"

    task_url = f"/fhir/Task/{task['id']}"
    received = world.as_unit("GET", task_url).json()
    assert received["status"] == "received"
    accepted = world.as_unit("PUT", task_url, {**received, "status": "accepted"})
    assert accepted.status_code == 200, accepted.text
    answered = world.as_unit("POST", "/fhir/QuestionnaireResponse", answer_to(request_ref))
    assert answered.status_code == 201, answered.text
    answer = answered.json()
    assert answer["subject"] == task["for"]

    completed = world.as_kommun("GET", task_url).json()
    assert completed["status"] == "completed"
    assert (
        completed["output"][0]["valueReference"]["reference"]
        == f"QuestionnaireResponse/{answer['id']}"
    )

    world.deliver()
    assert len(world.webhook.received) == 1
    notification = world.webhook.received[0]
    assert notification.headers["authorization"] == "Bearer hook-secret"
    assert notification.body["entry"] == [{"fullUrl": f"http://testserver/fhir/Task/{task['id']}"}]
    assert ANNA.personnummer not in str(notification.body)

    found = world.as_kommun(
        "GET", "/fhir/QuestionnaireResponse", **{"based-on": request_ref}
    ).json()
    assert [e["resource"]["id"] for e in found["entry"]] == [answer["id"]]
    mine = world.as_kommun(
        "GET", "/fhir/Task", requester=task["requester"]["reference"], status="completed"
    ).json()
    assert mine["total"] == 1


def test_duplicate_submission_returns_the_first_task(world: World) -> None:
    first = world.submit(submission(ANNA.personnummer, GAVLE, case_id="dup-1"))
    again = world.submit(submission(ANNA.personnummer, GAVLE, case_id="dup-1"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    keyed = world.submit(
        submission(ANNA.personnummer, GAVLE, case_id="k-1"), **{"idempotency-key": "abc"}
    )
    keyed_again = world.submit(
        submission(ANNA.personnummer, GAVLE, case_id="k-2"), **{"idempotency-key": "abc"}
    )
    assert keyed.json()["id"] == keyed_again.json()["id"]
    assert world.as_kommun("GET", "/fhir/ServiceRequest").json()["total"] == 2
    assert world.as_kommun("GET", "/fhir/Task").json()["total"] == 2


def test_an_unusable_idempotency_key_is_refused_before_anything_is_stored(world: World) -> None:
    for key in ("a" * 256, "   ", "nyckel\u00e4".encode("latin-1")):
        answer = world.submit(
            submission(ANNA.personnummer, GAVLE, case_id="k-bad"), **{"idempotency-key": key}
        )
        assert answer.status_code == 400, answer.text
        assert answer.json()["resourceType"] == "OperationOutcome"
        issue = answer.json()["issue"][0]
        assert issue["expression"] == ["http.Idempotency-Key"]
        assert "Idempotency-Key" in issue["details"]["text"]
    assert world.as_kommun("GET", "/fhir/ServiceRequest").json()["total"] == 0
    longest = world.submit(
        submission(ANNA.personnummer, GAVLE, case_id="k-long"), **{"idempotency-key": "k" * 255}
    )
    assert longest.status_code == 201, longest.text
    assert longest.json()["identifier"][0]["value"].endswith(":" + "k" * 255)


def _refused(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    issue = response.json()["issue"][0]
    assert issue["details"]["text"]
    text: str = issue["details"]["text"]
    return text


def test_refusals_leave_nothing_behind(world: World) -> None:
    def nothing_stored() -> None:
        assert world.as_kommun("GET", "/fhir/ServiceRequest").json()["total"] == 0
        assert world.as_kommun("GET", "/fhir/Task").json()["total"] == 0

    _refused(world.submit(submission(ANNA.personnummer, GAVLE, with_consent=False)), 422)
    text = _refused(
        world.submit(submission(ANNA.personnummer, GAVLE, consent_changes={"end": "2026-01-31"})),
        422,
    )
    assert "gäller inte" in text
    text = _refused(
        world.submit(submission(ANNA.personnummer, GAVLE, unit="Organization/vc-sodermalm")), 422
    )
    assert "vårdcentral" in text
    text = _refused(
        world.submit(submission(ANNA.personnummer, GAVLE, consent_changes={"status": "inactive"})),
        422,
    )
    assert "återkallat" in text
    _refused(world.submit(submission(FREDRIK.personnummer, GAVLE)), 422)
    _refused(world.submit(submission(ANNA.personnummer, "Organization/kommun-0180")), 403)
    nothing_stored()


def test_submitting_takes_the_scopes_of_what_the_kommun_sends_not_of_the_task(
    world: World,
) -> None:
    """The Task is the gateway's own doing: the demo kommun client, which may not create
    Tasks, submits; without the ServiceRequest scope the same client is refused."""
    scopes = next(s for _, _, kind, s in DEMO_CLIENTS if kind is PartyKind.KOMMUN)
    assert not any(s.startswith("system/Task.") and "c" in s.split(".")[1] for s in scopes)
    kommun = register_client(world.app, GAVLE, PartyKind.KOMMUN, scopes)
    world.kommun = bearer(world.http, kommun, " ".join(scopes))
    created = world.submit(submission(ANNA.personnummer, GAVLE, case_id="scoped-1"))
    assert created.status_code == 201, created.text
    assert created.json()["resourceType"] == "Task"
    no_request = tuple(s for s in scopes if not s.startswith("system/ServiceRequest."))
    world.kommun = bearer(world.http, kommun, " ".join(no_request))
    _refused(world.submit(submission(ANNA.personnummer, GAVLE, case_id="scoped-2")), 403)
    assert world.as_kommun("GET", "/fhir/Task").json()["total"] == 1


def test_illegal_transitions_are_409(world: World) -> None:
    task = world.submit(submission(ANNA.personnummer, GAVLE)).json()
    url = f"/fhir/Task/{task['id']}"
    assert _refused(world.as_unit("PUT", url, {**task, "status": "completed"}), 409)
    assert _refused(world.as_kommun("PUT", url, {**task, "status": "accepted"}), 409)
    assert _refused(
        world.as_unit("PUT", url, {**task, "owner": {"reference": "Organization/vc-sodermalm"}}),
        409,
    )
    rejected = world.as_unit("PUT", url, {**task, "status": "rejected"})
    assert _refused(rejected, 422)
    cancelled = world.as_kommun("PUT", url, {**task, "status": "cancelled"})
    assert cancelled.status_code == 200
    assert _refused(world.as_unit("PUT", url, {**cancelled.json(), "status": "accepted"}), 409)


def test_consent_revoked_mid_flight_cancels_and_withholds(world: World) -> None:
    task = world.submit(submission(ANNA.personnummer, GAVLE)).json()
    world.deliver()  # the unit has the request
    request = world.as_kommun("GET", f"/fhir/{task['focus']['reference']}").json()
    consent_url = f"/fhir/{request['supportingInfo'][0]['reference']}"
    consent = world.as_kommun("GET", consent_url).json()
    revoked = world.as_kommun("PUT", consent_url, {**consent, "status": "inactive"})
    assert revoked.status_code == 200, revoked.text
    cancelled = world.as_kommun("GET", f"/fhir/Task/{task['id']}").json()
    assert cancelled["status"] == "cancelled"
    assert "samtycke" in cancelled["statusReason"]["text"]
    world.deliver()
    assert len(world.peer.received) == 2, "the request, then the notice of revocation"
    notice = world.peer.received[1].body
    assert "återkallat sitt samtycke" in str(notice)
    assert ANNA.personnummer not in str(notice)
    answer = world.as_unit(
        "POST", "/fhir/QuestionnaireResponse", answer_to(task["focus"]["reference"])
    )
    assert answer.status_code in (409, 422)


def test_protected_identity_is_routed_but_contact_data_stripped(world: World) -> None:
    eva = next(p for p in PERSONS if p.key == "eva")
    bundle = submission(eva.personnummer, "Organization/kommun-0180")
    kommun = register_client(world.app, "Organization/kommun-0180", PartyKind.KOMMUN)
    response = world.http.post(
        "/fhir/ServiceRequest/$submit",
        json=bundle,
        headers={**bearer(world.http, kommun), **FHIR_JSON},
    )
    assert response.status_code == 201, response.text
    task = response.json()
    assert any(label["code"] == "skyddadFolkbokforing" for label in task["meta"]["security"])
    patient = world.as_kommun("GET", f"/fhir/{task['for']['reference']}")
    assert patient.status_code == 404  # Gävle's client cannot see Stockholm's case


def test_answer_invalid_against_the_questionnaire_is_refused(world: World) -> None:
    task = world.submit(submission(ANNA.personnummer, GAVLE)).json()
    world.deliver()
    answer = answer_to(task["focus"]["reference"])
    answer["item"] = [item for item in answer["item"] if item["linkId"] != "1"]  # a required group
    refused = world.as_unit("POST", "/fhir/QuestionnaireResponse", answer)
    assert refused.status_code == 422, refused.text
    issues = refused.json()["issue"]
    assert any(
        "1" in issue.get("diagnostics", "") and issue["severity"] == "error" for issue in issues
    )
    assert all(issue["details"]["text"] for issue in issues)
    still_open = world.as_kommun("GET", f"/fhir/Task/{task['id']}").json()
    assert still_open["status"] == "received"
    assert world.as_kommun("GET", "/fhir/QuestionnaireResponse").json()["total"] == 0


def test_every_consent_check_on_the_way_is_an_audit_event(world: World) -> None:
    """Submit, dispatch, the answer's arrival and the kommun's read each decide on the
    consent again, and each decision is a BALP consent-decision AuditEvent."""
    operator = register_client(world.app, "Organization/operator", PartyKind.OPERATOR)
    auditor = bearer(world.http, operator)

    def decisions() -> list[dict[str, Any]]:
        found = world.http.get(
            "/fhir/AuditEvent", params={"subtype": "AuthZ-Consent", "_count": "50"}, headers=auditor
        ).json()
        events = [entry["resource"] for entry in found.get("entry", [])]
        return sorted(events, key=lambda event: str(event["recorded"]))

    task = world.submit(submission(ANNA.personnummer, GAVLE, case_id="audit-1")).json()
    request_ref = task["focus"]["reference"]
    assert len(decisions()) == 1
    assert world.deliver() == 1
    assert len(decisions()) == 2
    task_url = f"/fhir/Task/{task['id']}"
    received = world.as_unit("GET", task_url).json()
    assert world.as_unit("PUT", task_url, {**received, "status": "accepted"}).status_code == 200
    answered = world.as_unit("POST", "/fhir/QuestionnaireResponse", answer_to(request_ref))
    assert answered.status_code == 201, answered.text
    assert len(decisions()) == 3
    read = world.as_kommun("GET", f"/fhir/QuestionnaireResponse/{answered.json()['id']}")
    assert read.status_code == 200

    events = decisions()
    assert len(events) == 4
    request = world.as_kommun("GET", f"/fhir/{request_ref}").json()
    consent_ref = request["supportingInfo"][0]
    for event in events:
        assert event["outcome"] == "0"
        assert event["outcomeDesc"] == "consent-permits"
        entities = [e["what"] for e in event["entity"]]
        assert {"reference": task["for"]["reference"]} in entities
        assert consent_ref in entities, "each decision names the Consent it rests on"
        who = {agent["who"].get("reference") for agent in event["agent"]}
        assert who == {GAVLE, JONKOPING_VC}, "recipient and custodian"
    assert ANNA.personnummer not in json.dumps(events)


def test_a_newer_consent_that_withdraws_cancels_and_withholds(world: World) -> None:
    """Revocation by a newer Consent of the person, not only by the old one's status."""
    task = world.submit(submission(ANNA.personnummer, GAVLE, case_id="nyare-1")).json()
    world.deliver()
    person = task["for"]["reference"]
    task_url = f"/fhir/Task/{task['id']}"

    def later(**changes: Any) -> dict[str, Any]:
        body = consent(person, kommun=GAVLE, unit=JONKOPING_VC, **changes)
        body.pop("id")
        body["dateTime"] = "2026-11-20T09:00:00+01:00"  # after the one sent with the request
        return body

    not_yet = world.as_kommun("POST", "/fhir/Consent", later(status="draft"))
    assert not_yet.status_code == 201, not_yet.text
    other_person = world.as_kommun("POST", "/fhir/Patient", patient(serial=77))
    assert other_person.status_code == 201, other_person.text
    someone_else = later()
    someone_else["patient"] = {"reference": f"Patient/{other_person.json()['id']}"}
    someone_else["provision"]["type"] = "deny"
    stored = world.as_kommun("POST", "/fhir/Consent", someone_else)
    assert stored.status_code == 201, stored.text
    unchanged = world.as_kommun("GET", task_url).json()["status"]
    assert unchanged == "received", "neither a draft nor another person's denial withdraws"

    denying = later()
    denying["provision"]["type"] = "deny"
    withdrawn = world.as_kommun("POST", "/fhir/Consent", denying)
    assert withdrawn.status_code == 201, withdrawn.text

    world.assert_withdrawn(task_url)
    answer = world.as_unit(
        "POST", "/fhir/QuestionnaireResponse", answer_to(task["focus"]["reference"])
    )
    assert answer.status_code in (409, 422)


def test_a_submission_with_a_consent_older_than_a_withdrawal_is_refused(world: World) -> None:
    first = world.submit(submission(ANNA.personnummer, GAVLE, case_id="efter-1")).json()
    person = first["for"]["reference"]
    withdrawal = consent(person, kommun=GAVLE, unit=JONKOPING_VC, status="inactive")
    withdrawal.pop("id")
    withdrawal["dateTime"] = "2026-06-01T09:00:00+02:00"
    assert world.as_kommun("POST", "/fhir/Consent", withdrawal).status_code == 201

    stale = world.submit(submission(ANNA.personnummer, GAVLE, case_id="efter-2"))
    assert "återkallat" in _refused(stale, 422)
    renewed = submission(ANNA.personnummer, GAVLE, case_id="efter-3")
    for entry in renewed["entry"]:
        if entry["resource"]["resourceType"] == "Consent":
            entry["resource"]["dateTime"] = "2026-11-01T09:00:00+01:00"  # given again, later
    assert world.submit(renewed).status_code == 201
