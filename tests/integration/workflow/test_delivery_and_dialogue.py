"""Delivery through the outbox (retries, dead letters, reruns), reminders and dialogue."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from gateway.delivery.models import OutboxMessage
from gateway.delivery.outbox import DEAD, RetryPolicy
from gateway.security.caller import PartyKind
from gateway.store.resources import ResourceStore, utc_now
from gateway.workflow import notices
from gateway.workflow.notices import queue_reminders
from gateway.workflow.operations import rerun_delivery
from tests.integration.workflow.conftest import ANNA, GAVLE, World, communication, gateway_reason
from tests.support.auth import bearer, register_client
from tests.support.submissions import submission


def _messages(world: World, kind: str) -> list[OutboxMessage]:
    with world.app.state.session_factory() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))


def _due_now(world: World) -> None:
    from sqlalchemy import update

    with world.app.state.session_factory() as session, session.begin():
        session.execute(
            update(OutboxMessage).values(next_attempt_at=utc_now() - timedelta(seconds=1))
        )


def test_peer_down_is_retried_and_nothing_is_lost(world: World) -> None:
    world.peer.mode = "down"
    task = world.submit(submission(ANNA.personnummer, GAVLE)).json()
    world.deliver()
    (message,) = _messages(world, "journal-request")
    assert message.status == "pending"
    assert message.attempts == 1
    assert message.next_attempt_at > utc_now()
    assert "503" in (message.last_error or "")
    world.peer.mode = "ok"
    _due_now(world)
    world.deliver()
    assert len(world.peer.received) == 1
    assert world.as_unit("GET", f"/fhir/Task/{task['id']}").json()["status"] == "received"


def test_garbage_peer_fails_the_task_after_the_budget_and_an_operator_reruns_it(
    world: World,
) -> None:
    world.peer.mode = "garbage"
    world.app.state.worker.policy = RetryPolicy(max_attempts=3, base_seconds=0)
    task = world.submit(submission(ANNA.personnummer, GAVLE)).json()
    for _ in range(3):
        _due_now(world)
        world.deliver()
    (message,) = _messages(world, "journal-request")
    assert message.status == DEAD
    failed = world.as_kommun("GET", f"/fhir/Task/{task['id']}").json()
    assert failed["status"] == "failed"
    assert "kunde inte levereras" in failed["statusReason"]["text"]
    assert gateway_reason(failed) == "ej-levererad"
    with world.app.state.session_factory() as session, session.begin():
        assert rerun_delivery(session, message.id)
        assert not rerun_delivery(session, message.id), "only dead messages are rerun"
    world.peer.mode = "ok"
    world.deliver()
    assert len(world.peer.received) == 1
    rerun = world.as_kommun("GET", f"/fhir/Task/{task['id']}").json()
    assert rerun["status"] == "received"
    assert "statusReason" not in rerun, "why it failed no longer holds"


def test_a_request_whose_consent_ended_before_dispatch_fails_with_the_consent_reason(
    world: World,
) -> None:
    """A consent corrected to end before the request went out stops the request: the
    unit never sees it, and the kommun is told (by its Subscription) and reads why, not
    that the unit could not be reached."""
    subscribed = world.as_kommun(
        "POST",
        "/fhir/Subscription",
        {
            "resourceType": "Subscription",
            "status": "requested",
            "reason": "Stoppade förfrågningar",
            "criteria": "Task?status=failed",
            "channel": {"type": "rest-hook", "endpoint": world.webhook_url},
        },
    )
    assert subscribed.status_code == 201, subscribed.text
    task = world.submit(submission(ANNA.personnummer, GAVLE)).json()
    world.end_consent(task)

    world.deliver()
    assert world.peer.received == []
    (request,) = _messages(world, "journal-request")
    assert request.status == DEAD
    assert "consent-expired" in (request.last_error or "")
    failed = world.as_kommun("GET", f"/fhir/Task/{task['id']}").json()
    assert failed["status"] == "failed"
    reason = failed["statusReason"]["text"]
    assert "skickades inte" in reason
    assert "Samtycket gäller inte längre" in reason
    assert "kunde inte levereras" not in reason
    assert gateway_reason(failed) == "samtycke-vid-utskick"
    world.deliver()  # the notification
    (told,) = world.webhook.received
    assert told.body["entry"][0]["fullUrl"].endswith(f"/Task/{task['id']}")


def test_follow_up_questions_go_both_ways(world: World) -> None:
    task = world.submit(submission(ANNA.personnummer, GAVLE)).json()
    world.deliver()
    question = communication(task["id"], "Kan vi ta ett telefonsamtal om planerad praktik?")
    sent = world.as_kommun("POST", "/fhir/Communication", question)
    assert sent.status_code == 201, sent.text
    assert sent.json()["recipient"] == [{"reference": "Organization/vc-jonkoping-centrum"}]
    world.deliver()
    notices = [
        r
        for r in world.peer.received
        if any(e["resource"]["resourceType"] == "Communication" for e in r.body["entry"])
    ]
    assert len(notices) == 1, [m.last_error for m in _messages(world, "journal-notice")]
    reply = {**question, "payload": [{"contentString": "Ja, ring på torsdag."}]}
    answered = world.as_unit("POST", "/fhir/Communication", reply)
    assert answered.status_code == 201, answered.text
    assert answered.json()["recipient"] == [{"reference": GAVLE}]
    dialogue = world.as_kommun(
        "GET", "/fhir/Communication", **{"part-of": f"Task/{task['id']}"}
    ).json()
    assert dialogue["total"] == 2
    stranger = {**question, "partOf": [{"reference": "Task/unknown"}]}
    assert world.as_kommun("POST", "/fhir/Communication", stranger).status_code in (404, 422)


def _overdue_submission(case_id: str) -> dict[str, Any]:
    """A submission whose desired answer date has passed."""
    bundle = submission(ANNA.personnummer, GAVLE, case_id=case_id)
    request = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ServiceRequest"
    )
    request["extension"] = [
        {
            "url": "https://kv-gateway.se/fhir/StructureDefinition/kv-desired-answer-date",
            "valueDate": "2026-01-10",
        }
    ]
    return bundle


def _remind(world: World) -> int:
    with world.app.state.session_factory() as session, session.begin():
        return queue_reminders(ResourceStore(session))


def test_every_overdue_task_is_reminded_however_many_were_reminded_before(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reminded Tasks stay open and overdue: they must not fill the page the next ones
    would be found on."""
    monkeypatch.setattr(notices, "OVERDUE_PAGE", 2)
    for number in range(3):
        assert world.submit(_overdue_submission(f"sen-{number}")).status_code == 201
    world.deliver()
    assert _remind(world) == 3
    assert _remind(world) == 0, "once each"
    assert world.submit(_overdue_submission("sen-3")).status_code == 201
    world.deliver()
    assert _remind(world) == 1, "the one that came after three reminded ones"


def test_overdue_task_is_searchable_and_the_unit_reminded_once(world: World) -> None:
    task = world.submit(_overdue_submission("sen")).json()
    assert task["restriction"]["period"]["end"] == "2026-01-10"
    world.deliver()
    overdue = world.as_unit(
        "GET",
        "/fhir/Task",
        **{"restriction-period": f"lt{utc_now().date()}", "status": "requested,received"},
    ).json()
    assert [e["resource"]["id"] for e in overdue["entry"]] == [task["id"]]
    for _ in range(2):
        _remind(world)
        world.deliver()
    reminders = [
        r
        for r in world.peer.received
        if any(e["resource"]["resourceType"] == "Communication" for e in r.body["entry"])
    ]
    assert len(reminders) == 1
    assert "Påminnelse" in str(reminders[0].body)


def test_a_question_reaches_the_unit_only_while_the_consent_still_covers_it(
    world: World,
) -> None:
    """The consent is checked again when the kommun's message goes out, not only when it
    was posted: one whose period ended meanwhile keeps the message from the unit."""
    operator = register_client(world.app, "Organization/operator", PartyKind.OPERATOR)
    auditor = bearer(world.http, operator)
    task = world.submit(submission(ANNA.personnummer, GAVLE)).json()
    world.deliver()
    question = communication(task["id"], "Kan vi boka ett avstämningsmöte?")
    assert world.as_kommun("POST", "/fhir/Communication", question).status_code == 201
    consent_url = world.end_consent(task)

    world.deliver()
    assert not any("avstämningsmöte" in str(r.body) for r in world.peer.received)
    (notice,) = _messages(world, "journal-notice")
    assert notice.status == DEAD
    assert "consent" in (notice.last_error or "")
    decisions = world.http.get(
        "/fhir/AuditEvent",
        params={"subtype": "AuthZ-Consent", "outcome": "8", "_count": "50"},
        headers=auditor,
    ).json()
    denied = [entry["resource"] for entry in decisions.get("entry", [])]
    assert [event["outcomeDesc"] for event in denied] == ["consent-expired"]
    assert {"reference": consent_url.removeprefix("/fhir/")} in [
        entity["what"] for entity in denied[0]["entity"]
    ]
