"""A peer that is down, a peer that answers garbage, and a peer that reports what is not its own."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from gateway.delivery.models import OutboxMessage
from gateway.delivery.outbox import DEAD, RetryPolicy
from gateway.delivery.sync import high_water
from gateway.demo_peers.fhir_journal import JournalSystem
from gateway.routing import routing_table
from gateway.routing.demo_directory import unit_hsa_id
from gateway.routing.models import AuthorisationEntry
from gateway.search.query import parse_search
from gateway.security.caller import PartyKind
from gateway.security.models import AuditChainLink
from gateway.store.resources import ResourceStore, utc_now
from gateway.workflow.operations import rerun_delivery
from tests.integration.adapters.fhir_rest.conftest import BENGT, FhirWorld
from tests.integration.workflow.conftest import communication
from tests.support.auth import bearer, register_client
from tests.support.fhir_data import FHIR_JSON
from tests.support.live_server import free_port, serve

OLD_ENDPOINT = "ep-vc-jonkoping-centrum"


def _due_now(world: FhirWorld) -> None:
    with world.app.state.session_factory() as session, session.begin():
        session.execute(
            update(OutboxMessage).values(next_attempt_at=utc_now() - timedelta(seconds=1))
        )


def test_a_peer_that_is_down_is_retried_and_gets_the_request_when_it_is_back(
    fhir_world: FhirWorld,
) -> None:
    world = fhir_world
    port = free_port()  # nothing listens here yet
    world.repoint(f"http://127.0.0.1:{port}/fhir")
    world.use(smart=world.smart(token_url=f"http://127.0.0.1:{port}/auth/token"), receive="poll")
    task = world.submit()
    world.deliver()
    (message,) = world.messages()
    assert message.status == "pending"
    assert message.next_attempt_at > utc_now()
    assert "unreachable" in (message.last_error or "")
    assert world.task(task["id"])["status"] == "requested"
    report = world.poll()
    assert report.failures, "a poll of a peer that is down is reported"
    with world.app.state.session_factory() as session:
        assert high_water(session, "ep-vc-jonkoping-centrum") is None

    world.faults.mode = "down"  # up, but answering 503 at first
    with serve(world.faults, port=port):
        _due_now(world)
        world.deliver()
        (message,) = world.messages()
        assert message.status == "pending"
        assert "503" in (message.last_error or "")
        world.faults.mode = "ok"
        _due_now(world)
        world.deliver()
    (message,) = world.messages()
    assert message.status == "delivered"
    assert len(world.journal.arrivals) == 1, "delivered once, nothing lost"
    assert world.task(task["id"])["status"] == "received"


def test_garbage_fails_the_task_after_the_budget_and_an_operator_reruns_it(
    fhir_world: FhirWorld,
) -> None:
    world = fhir_world
    world.app.state.worker.policy = RetryPolicy(max_attempts=3, base_seconds=0)
    world.faults.mode = "garbage-ok"  # 200, but an HTML page: not a FHIR answer
    task = world.submit()
    for _ in range(3):
        _due_now(world)
        world.deliver()
    (message,) = world.messages()
    assert message.status == DEAD
    assert "not with FHIR JSON" in (message.last_error or "")
    failed = world.task(task["id"])
    assert failed["status"] == "failed"
    assert "kunde inte levereras" in failed["statusReason"]["text"]

    world.faults.mode = "ok"
    with world.app.state.session_factory() as session, session.begin():
        assert rerun_delivery(session, message.id), "the operator's rerun (outbox retry)"
    assert world.task(task["id"])["status"] == "requested"
    world.deliver()
    assert world.task(task["id"])["status"] == "received"
    assert world.remote(task["id"])["status"] == "requested"


def test_an_answer_that_never_ends_is_cut_off_at_the_limit(fhir_world: FhirWorld) -> None:
    world = fhir_world
    limit = 64 * 1024
    world.use(smart=world.smart(), max_response_bytes=limit)
    world.faults.mode = "endless"
    task = world.submit()
    world.deliver()
    (message,) = world.messages()
    assert message.status == "pending", "retried later, not lost"
    assert f"larger than {limit} bytes" in (message.last_error or "")
    # Read as it streamed and dropped at the limit: the peer got to send little more than
    # the socket buffers hold, not the 256 MiB it had in store.
    assert world.faults.sent < 16 * 1024 * 1024
    world.faults.mode = "ok"
    _due_now(world)
    world.deliver()
    assert world.task(task["id"])["status"] == "received"


def test_garbage_from_a_polled_peer_is_a_clear_failure_and_moves_no_mark(
    fhir_world: FhirWorld,
) -> None:
    world = fhir_world
    world.use(smart=world.smart(), receive="poll")
    task = world.submit()
    world.deliver()
    world.journal.move(world.remote(task["id"])["id"], "accepted")
    world.faults.mode = "garbage"
    report = world.poll()
    assert report.failures == [
        "Endpoint/ep-vc-jonkoping-centrum: the peer's Task search answered 500"
    ]
    world.faults.mode = "garbage-ok"
    assert "not a FHIR Bundle" in world.poll().failures[0]
    assert world.task(task["id"])["status"] == "received"
    world.faults.mode = "ok"
    assert world.poll().changed == 1
    assert world.task(task["id"])["status"] == "accepted"


def test_a_polled_update_for_a_task_the_unit_does_not_own_is_refused_and_audited(
    fhir_world: FhirWorld,
) -> None:
    world = fhir_world
    world.use(smart=world.smart(), receive="poll")
    ours = world.submit()
    world.deliver()
    # Another unit's Task (Södermalm, delivered elsewhere) that this peer claims to have.
    theirs = world.submit(BENGT.personnummer, case_id="2026-0002")
    world.repoint("http://127.0.0.1:9/elsewhere/fhir")
    with world.app.state.session_factory() as session, session.begin():
        store = ResourceStore(session)
        endpoint = store.read("Endpoint", "ep-vc-jonkoping-centrum").body
        assert endpoint is not None
        store.update({**endpoint, "address": f"{world.peer_base}/fhir"}, "ep-vc-jonkoping-centrum")
    forged = world.remote(ours["id"])
    forged_copy = {**forged, "id": "forged"}
    forged_copy["identifier"] = [
        {"system": forged["identifier"][-1]["system"], "value": theirs["id"]}
    ]
    forged_copy.pop("meta")
    world.journal._store(forged_copy)
    world.journal.move("forged", "rejected", reason_code="fel-enhet")
    with world.app.state.session_factory() as session:
        before = max(session.scalars(select(AuditChainLink.seq)), default=0)
        version = ResourceStore(session).read("Task", theirs["id"]).version_id
    report = world.poll()
    assert report.refused == 1
    assert (
        f"Task/{theirs['id']}: refused 404: Task with that id is not known to this server"
        in report.failures
    )
    with world.app.state.session_factory() as session:
        store = ResourceStore(session)
        assert store.read("Task", theirs["id"]).version_id == version, "nothing changed"
        events = [
            store.read("AuditEvent", link.event_id).body or {}
            for link in session.scalars(select(AuditChainLink).where(AuditChainLink.seq > before))
        ]
    refused = [e for e in events if e.get("outcome") == "4"]
    assert refused, "the refusal is in the audit trail"
    assert refused[0]["agent"][0]["who"] == {"reference": "Organization/vc-jonkoping-centrum"}
    assert refused[0]["agent"][0]["altId"].startswith("fhir-rest:poll:")
    assert world.task(theirs["id"])["status"] == "requested"


def _given_up(world: FhirWorld, fault: str) -> tuple[dict[str, Any], OutboxMessage]:
    """A request submitted while the peer answers with ``fault``, and its message, dead
    after two tries."""
    world.app.state.worker.policy = RetryPolicy(max_attempts=2, base_seconds=0)
    world.faults.mode = fault
    task = world.submit()
    for _ in range(2):
        _due_now(world)
        world.deliver()
    (message,) = world.messages()
    assert message.status == DEAD
    return task, message


def _given_up_while_the_peer_has_it(world: FhirWorld) -> dict[str, Any]:
    """A journal system that takes the request each time, while its replies are lost: the
    gateway gives up and fails the Task, though the unit has the request."""
    world.use(smart=world.smart(), form="bundle", receive="poll")
    task, _ = _given_up(world, "lost-reply")
    assert world.task(task["id"])["status"] == "failed"
    world.faults.mode = "ok"
    return task


def _consent_permits_audited(world: FhirWorld, task: dict[str, Any]) -> int:
    """How many consent decisions that permitted were audited for the Task's person."""
    query = parse_search(
        "AuditEvent", [("entity", task["for"]["reference"]), ("outcome", "0"), ("_count", "100")]
    )
    with world.app.state.session_factory() as session:
        found, _ = ResourceStore(session).search(query, with_total=False)
    return sum(
        1 for e in found if (e.body or {}).get("subtype", [{}])[0].get("code") == "AuthZ-Consent"
    )


def test_the_units_report_on_a_request_given_up_on_brings_it_back_with_its_answer(
    fhir_world: FhirWorld,
) -> None:
    world = fhir_world
    task = _given_up_while_the_peer_has_it(world)
    remote = world.remote(task["id"])
    world.journal.move(remote["id"], "accepted")
    world.journal.answer(remote["id"])
    permits = _consent_permits_audited(world, task)

    report = world.poll()
    assert (report.updates, report.changed, report.refused) == (1, 1, 0), report.failures
    # Checked when the Task came back, and again when the answer came.
    assert _consent_permits_audited(world, task) == permits + 2
    done = world.task(task["id"])
    assert done["status"] == "completed", "the answer is not lost"
    assert "statusReason" not in done, "the failure's reason went with the failure"
    answer_ref = done["output"][0]["valueReference"]["reference"]
    answer = world.http.get(f"/fhir/{answer_ref}", headers=world.kommun)
    assert answer.status_code == 200, answer.text
    history = world.http.get(f"/fhir/Task/{task['id']}/_history", headers=world.kommun).json()
    statuses = [e["resource"]["status"] for e in reversed(history["entry"])]
    assert statuses[statuses.index("failed") + 1] == "received", "received after all"
    (message,) = world.messages()
    assert message.status == "delivered", "the dead request arrived after all"
    with world.app.state.session_factory() as session, session.begin():
        assert not rerun_delivery(session, message.id), "no rerun sends it again"


def _consent_ends(world: FhirWorld, task: dict[str, Any], days: int = -2) -> None:
    """The kommun corrects the end of the consent the request rests on: ``days`` from today."""
    request = world.http.get(f"/fhir/{task['focus']['reference']}", headers=world.kommun).json()
    consent_url = f"/fhir/{request['supportingInfo'][0]['reference']}"
    consent = world.http.get(consent_url, headers=world.kommun).json()
    consent["provision"]["period"]["end"] = (utc_now() + timedelta(days=days)).date().isoformat()
    changed = world.http.put(consent_url, json=consent, headers={**world.kommun, **FHIR_JSON})
    assert changed.status_code == 200, changed.text


def test_a_report_on_a_request_given_up_on_after_its_consent_ended_changes_nothing(
    fhir_world: FhirWorld,
) -> None:
    world = fhir_world
    task = _given_up_while_the_peer_has_it(world)
    _consent_ends(world, task)

    world.journal.move(world.remote(task["id"])["id"], "accepted")
    report = world.poll()
    assert (report.updates, report.changed, report.refused) == (1, 0, 1)
    assert world.task(task["id"])["status"] == "failed"


def test_a_request_stopped_for_its_consent_is_not_brought_back(fhir_world: FhirWorld) -> None:
    """The kommun was told to send a new request: a report on the old one, even once the
    consent is mended, does not bring it back beside the new one."""
    world = fhir_world
    world.app.state.worker.policy = RetryPolicy(max_attempts=3, base_seconds=60)
    world.use(smart=world.smart(), form="bundle", receive="poll")
    world.faults.mode = "lost-reply"  # the first try reaches the peer, its reply is lost
    task = world.submit()
    world.deliver()
    assert world.task(task["id"])["status"] == "requested", "a retry is due in a minute"
    world.faults.mode = "ok"
    _consent_ends(world, task)
    _due_now(world)
    world.deliver()  # the next try stops for the consent
    stopped = world.task(task["id"])
    assert stopped["status"] == "failed"
    assert "skicka en ny förfrågan" in stopped["statusReason"]["text"]

    _consent_ends(world, task, days=+30)  # mended
    world.journal.move(world.remote(task["id"])["id"], "accepted")
    report = world.poll()
    assert (report.updates, report.changed, report.refused) == (1, 0, 1)
    assert world.task(task["id"])["status"] == "failed"


def test_a_rerun_follows_the_unit_to_the_endpoint_the_directory_gives_it_now(
    fhir_world: FhirWorld,
) -> None:
    """The unit moved to a new journal system after its request died at the old one: the
    directory switched the old Endpoint off and gave the unit a new one. The operator's
    rerun goes where routing finds the unit now, not where the request was first queued,
    and the unit's notices follow the request there."""
    world = fhir_world
    task, message = _given_up(world, "garbage-ok")
    assert message.target == f"Endpoint/{OLD_ENDPOINT}"
    arrived_at_the_old_one = len(world.journal.arrivals)

    moved = JournalSystem(require_auth=False)
    with serve(moved.app()) as new_base:
        with world.app.state.session_factory() as session, session.begin():
            store = ResourceStore(session)
            old = store.current("Endpoint", OLD_ENDPOINT)
            assert old is not None
            assert old.body is not None
            store.update({**old.body, "status": "off"}, OLD_ENDPOINT)
            kept = ("resourceType", "status", "connectionType", "managingOrganization")
            new = {k: v for k, v in old.body.items() if k in kept}
            store.create({**new, "name": "Nytt journalsystem", "address": f"{new_base}/fhir"})
        with world.app.state.session_factory() as session, session.begin():
            assert rerun_delivery(session, message.id)
        # The kommun asks a question before the request goes: its notice is queued for
        # where the request was queued for, and goes where the request went.
        asked = world.http.post(
            "/fhir/Communication",
            json=communication(task["id"], "Hur går det?"),
            headers={**world.kommun, **FHIR_JSON},
        )
        assert asked.status_code == 201, asked.text
        (notice,) = world.messages("journal-notice")
        assert notice.target == f"Endpoint/{OLD_ENDPOINT}"
        world.deliver()

        assert moved.task_for(task["id"]) is not None, "the request reached the new system"
        (message,) = world.messages()
        assert message.target != f"Endpoint/{OLD_ENDPOINT}", "where it went is recorded"
        (notice,) = world.messages("journal-notice")
        assert (notice.status, notice.target) == ("delivered", message.target)
        assert len(moved.arrivals) == 2, "the request and the notice"

    # Each delivery's AuditEvent names the system it went to.
    operator = bearer(world.http, register_client(world.app, "Organization/op", PartyKind.OPERATOR))
    exports = world.http.get(
        "/fhir/AuditEvent", params={"subtype": "110106", "outcome": "0"}, headers=operator
    ).json()
    receivers = [
        agent["who"].get("reference")
        for entry in exports.get("entry", [])
        for agent in entry["resource"]["agent"]
        if not agent["requestor"]
    ]
    assert receivers == [message.target, message.target]

    assert len(world.journal.arrivals) == arrived_at_the_old_one, "nothing more to the old"
    assert world.task(task["id"])["status"] == "received"


def test_a_route_the_gateway_is_no_longer_authorised_for_is_not_taken(
    fhir_world: FhirWorld,
) -> None:
    """The unit is reached by a routing-table route. When the gateway's authorisation for
    it ends before the request goes, the request is not sent there (nor to where it was
    queued, the same Endpoint): it waits for the authorisation, with the reason."""
    world = fhir_world
    settings = world.app.state.settings
    contract, hsa_id = settings.routing_service_contract, unit_hsa_id("vc-jonkoping-centrum")
    since = utc_now() - timedelta(days=1)
    with world.app.state.session_factory() as session, session.begin():
        routing_table.add_route(session, contract, hsa_id, OLD_ENDPOINT, valid_from=since)
        routing_table.add_authorisation(
            session, settings.routing_consumer_id, contract, hsa_id, valid_from=since
        )
    world.submit()
    with world.app.state.session_factory() as session, session.begin():
        session.execute(update(AuthorisationEntry).values(valid_to=utc_now()))
    world.deliver()
    (message,) = world.messages()
    assert message.status == "pending"
    assert "not authorised" in (message.last_error or "")
    assert world.journal.arrivals == []
