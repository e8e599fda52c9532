"""A claimed message belongs to its claim: a worker whose lease ran out, or whose message
was withheld meanwhile, neither sends it again nor writes its late outcome over the row.
And what revocation withholds stays withheld."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from gateway.delivery.models import OutboxMessage
from gateway.delivery.outbox import (
    WITHHELD,
    Message,
    claim,
    mark_delivered,
    mark_failed,
    withhold,
)
from gateway.store.resources import utc_now
from gateway.workflow.operations import rerun_delivery
from tests.integration.workflow.conftest import ANNA, GAVLE, World
from tests.support.submissions import submission


def _rows(world: World, kind: str) -> list[OutboxMessage]:
    with world.app.state.session_factory() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))


def _claimed(world: World) -> list[Message]:
    worker = world.app.state.worker
    with worker.sessions() as session, session.begin():
        return claim(session, worker.batch, worker.policy)


def _lease_runs_out(world: World) -> None:
    with world.app.state.session_factory() as session, session.begin():
        session.execute(update(OutboxMessage).values(locked_until=utc_now() - timedelta(seconds=1)))


def test_a_claim_whose_lease_ran_out_does_not_send_again(world: World) -> None:
    world.submit(submission(ANNA.personnummer, GAVLE, case_id="lease-1"))
    worker = world.app.state.worker
    (first_claim,) = _claimed(world)  # worker A, still busy with earlier messages ...
    _lease_runs_out(world)
    assert worker.run_once() == 1  # ... when worker B claims the message and sends it
    assert len(world.peer.received) == 1

    worker._deliver(first_claim)  # A reaches it at last
    assert len(world.peer.received) == 1, "sent once, not by both workers"
    (row,) = _rows(world, "journal-request")
    assert (row.status, row.attempts) == ("delivered", 2)


def test_a_claim_from_before_an_operators_rerun_is_not_taken_for_one_after_it(
    world: World,
) -> None:
    """The rerun gives the message a fresh retry budget, not fresh claim tokens: a worker
    whose lease ran out before the message died must not write over the rerun's delivery."""
    world.peer.mode = "down"
    task = world.submit(submission(ANNA.personnummer, GAVLE, case_id="lease-rerun")).json()
    (stale,) = _claimed(world)  # worker A, slow ...
    _lease_runs_out(world)
    (dying,) = _claimed(world)  # ... worker B claims it and gives up for good
    policy = world.app.state.worker.policy
    with world.app.state.session_factory() as session, session.begin():
        assert mark_failed(session, dying, "refused", policy, final=True) is True
    with world.app.state.session_factory() as session, session.begin():
        assert rerun_delivery(session, dying.id)
    (rerun,) = _claimed(world)  # worker C, after the operator's rerun
    assert rerun.attempts == stale.attempts == 1, "the same place in the retry budget"

    with world.app.state.session_factory() as session, session.begin():
        assert not mark_delivered(session, stale), "A's late word is not C's"
        assert mark_failed(session, rerun, "peer answered 503", policy, final=False) is False
    (row,) = _rows(world, "journal-request")
    assert (row.status, row.last_error) == ("pending", "peer answered 503")
    assert world.as_kommun("GET", f"/fhir/Task/{task['id']}").json()["status"] == "requested"


def test_a_late_outcome_does_not_undo_a_withholding(world: World) -> None:
    task = world.submit(submission(ANNA.personnummer, GAVLE, case_id="lease-2")).json()
    (on_its_way,) = _claimed(world)
    with world.app.state.session_factory() as session, session.begin():
        assert withhold(session, f"Task/{task['id']}", ("journal-request",)) == 1
        policy = world.app.state.worker.policy
        assert mark_failed(session, on_its_way, "peer answered 503", policy, final=False) is None
    (row,) = _rows(world, "journal-request")
    assert row.status == WITHHELD
    world.deliver()
    assert world.peer.received == []


def test_revocation_stops_the_kommuns_waiting_messages_and_dead_ones_stay_dead(
    world: World,
) -> None:
    task = world.submit(submission(ANNA.personnummer, GAVLE, case_id="lease-3")).json()
    world.deliver()
    question = {
        "resourceType": "Communication",
        "status": "completed",
        "partOf": [{"reference": f"Task/{task['id']}"}],
        "payload": [{"contentString": "Kan vi ta ett telefonsamtal?"}],
    }
    assert world.as_kommun("POST", "/fhir/Communication", question).status_code == 201
    request = world.as_kommun("GET", f"/fhir/{task['focus']['reference']}").json()
    consent_url = f"/fhir/{request['supportingInfo'][0]['reference']}"
    consent = world.as_kommun("GET", consent_url).json()
    assert world.as_kommun("PUT", consent_url, {**consent, "status": "inactive"}).status_code == 200

    world.deliver()
    texts = [_communication_text(r.body) for r in world.peer.received[1:]]
    assert len(texts) == 1, texts
    assert "återkallat sitt samtycke" in texts[0]
    withheld = [m for m in _rows(world, "journal-notice") if m.status == WITHHELD]
    assert len(withheld) == 1, "the kommun's question"
    with world.app.state.session_factory() as session, session.begin():
        assert not rerun_delivery(session, withheld[0].id), "no rerun brings it back"


def _communication_text(bundle: dict[str, Any]) -> str:
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Communication":
            return str(entry["resource"]["payload"][0]["contentString"])
    return ""


def test_a_notification_carries_its_idempotency_key(world: World) -> None:
    subscription = {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "Uppgifter",
        "criteria": "Task?status=received",
        "channel": {"type": "rest-hook", "endpoint": world.webhook_url},
    }
    assert world.as_kommun("POST", "/fhir/Subscription", subscription).status_code == 201
    world.submit(submission(ANNA.personnummer, GAVLE, case_id="lease-4"))
    world.deliver()
    world.deliver()
    (notified,) = world.webhook.received
    (row,) = _rows(world, "subscription-notification")
    assert notified.headers.get("idempotency-key") == row.idempotency_key
