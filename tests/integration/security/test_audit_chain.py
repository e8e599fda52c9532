"""The audit: every interaction recorded, refusals too, and a chain nobody can rewrite."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text, update

from gateway.security.audit import CHAIN_LOCK_KEY, AuditLog
from gateway.security.models import AuditChainLink
from gateway.settings import Settings
from gateway.store.models import ResourceVersion
from tests.support.fhir_data import FHIR_JSON, patient


def _linked_ids(app: FastAPI) -> list[str]:
    with app.state.session_factory() as session:
        return list(session.scalars(select(AuditChainLink.event_id).order_by(AuditChainLink.seq)))


def _events(app: FastAPI) -> list[dict[str, Any]]:
    from gateway.store.resources import ResourceStore

    ids = _linked_ids(app)
    with app.state.session_factory() as session:
        store = ResourceStore(session)
        return [store.read("AuditEvent", i).body or {} for i in ids]


def _audit(settings: Settings) -> AuditLog:
    return AuditLog(settings.audit_chain_key.get_secret_value().encode())


def _verify(app: FastAPI, settings: Settings) -> Any:
    return _audit(settings).verify(app.state.session_factory)


def _make_activity(client: TestClient) -> str:
    created = client.post("/fhir/Patient", json=patient(1), headers=FHIR_JSON).json()
    client.get(f"/fhir/Patient/{created['id']}")
    client.get("/fhir/Patient", params={"identifier": patient(1)["identifier"][0]["value"]})
    client.get("/fhir/Patient/does-not-exist")
    return str(created["id"])


def test_reads_writes_searches_logins_and_refusals_are_audited(
    app: FastAPI, client: TestClient
) -> None:
    patient_id = _make_activity(client)
    events = _events(app)
    kinds = [(e["type"]["code"], e["subtype"][0]["code"], e["outcome"]) for e in events]
    assert ("110114", "110122", "0") in kinds  # the operator's login (token)
    assert ("rest", "create", "0") in kinds
    assert ("rest", "read", "0") in kinds
    assert ("rest", "search-type", "0") in kinds
    assert ("rest", "read", "4") in kinds  # the 404
    create = next(e for e in events if e["subtype"][0]["code"] == "create")
    assert create["action"] == "C"
    assert {"reference": f"Patient/{patient_id}"} in [
        entity.get("what") for entity in create["entity"]
    ]
    assert create["agent"][0]["who"] == {"reference": "Organization/operator"}
    assert create["agent"][0]["requestor"] is True


def test_a_refused_token_and_a_forbidden_call_are_audited(
    app: FastAPI, anonymous: TestClient
) -> None:
    anonymous.get("/fhir/Patient", headers={"authorization": "Bearer nonsense"})
    outcomes = [(e["type"]["code"], e["outcome"]) for e in _events(app)]
    assert ("110114", "4") in outcomes


def test_intact_chain_verifies(app: FastAPI, client: TestClient, settings: Settings) -> None:
    _make_activity(client)
    report = _verify(app, settings)
    assert report.intact, report.problems
    assert report.checked >= 5


def test_altered_event_is_detected(
    app: FastAPI, client: TestClient, settings: Settings, engine: Engine
) -> None:
    _make_activity(client)
    with app.state.session_factory() as session, session.begin():
        link = session.scalars(
            select(AuditChainLink).order_by(AuditChainLink.seq).offset(2)
        ).first()
        assert link is not None
        protection = app.state.protection
        row = session.get(ResourceVersion, ("AuditEvent", link.event_id, 1))
        assert row is not None
        assert row.body is not None
        event = json.loads(protection.decrypt(row.body))
        event["outcome"] = "0" if event["outcome"] != "0" else "4"
        row.body = protection.encrypt(json.dumps(event))
    report = _verify(app, settings)
    assert not report.intact
    assert any("altered" in p.problem for p in report.problems)


def test_removed_event_is_detected(
    app: FastAPI, client: TestClient, settings: Settings, engine: Engine
) -> None:
    _make_activity(client)
    with engine.begin() as connection:
        seq = connection.execute(
            text("SELECT seq FROM audit_chain ORDER BY seq LIMIT 1 OFFSET 1")
        ).scalar_one()
        connection.execute(text("DELETE FROM audit_chain WHERE seq = :seq"), {"seq": seq})
    report = _verify(app, settings)
    assert any("removed or reordered" in p.problem for p in report.problems)


def test_reordered_events_are_detected(
    app: FastAPI, client: TestClient, settings: Settings, engine: Engine
) -> None:
    _make_activity(client)
    with app.state.session_factory() as session, session.begin():
        first, second = session.scalars(
            select(AuditChainLink).order_by(AuditChainLink.seq).limit(2)
        ).all()
        first_event, second_event = first.event_id, second.event_id
        first_prev, first_hash = first.prev_hash, first.hash
        session.execute(
            update(AuditChainLink)
            .where(AuditChainLink.seq == first.seq)
            .values(event_id="swap-tmp")
        )
        session.execute(
            update(AuditChainLink)
            .where(AuditChainLink.seq == second.seq)
            .values(event_id=first_event, prev_hash=first_prev, hash=first_hash)
        )
        session.execute(
            update(AuditChainLink)
            .where(AuditChainLink.seq == first.seq)
            .values(event_id=second_event, prev_hash=second.prev_hash, hash=second.hash)
        )
    assert not _verify(app, settings).intact


def test_chain_rewritten_without_the_key_is_detected(
    app: FastAPI, client: TestClient, settings: Settings
) -> None:
    _make_activity(client)
    forger = AuditLog(b"a key the attacker made up")
    with app.state.session_factory() as session, session.begin():
        links = session.scalars(select(AuditChainLink).order_by(AuditChainLink.seq)).all()
        prev = "0" * 64
        from gateway.store.resources import ResourceStore

        store = ResourceStore(session)
        for link in links:
            body = store.read("AuditEvent", link.event_id).body or {}
            link.prev_hash = prev
            link.hash = forger._link_hash(prev, body)
            prev = link.hash
    assert not _verify(app, settings).intact


def test_audit_verify_command(app: FastAPI, client: TestClient, database_url: str) -> None:
    from tests.integration.test_cli import run_cli

    _make_activity(client)
    result = run_cli("audit", "verify", env={"KVGW_DATABASE_URL": database_url})
    assert result.returncode == 0, result.stderr
    assert "intact" in result.stdout


def test_concurrent_appends_keep_one_unbroken_chain(app: FastAPI, settings: Settings) -> None:
    """Transactions that append at once never fork the chain: each links from the head the
    one before it left (or leaves its events for the next), so no two links follow the
    same link."""
    audit = _audit(settings)
    sessions = app.state.session_factory
    before = _verify(app, settings).checked
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def append_some() -> None:
        try:
            start.wait()
            for _ in range(12):
                with sessions() as session, session.begin():
                    audit.append_all(session, [audit.delivery("Task/t", "x", ok=True)] * 2)
        except BaseException as error:  # reported below, in the test's own thread
            errors.append(error)

    threads = [threading.Thread(target=append_some) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    audit.seal_waiting(sessions)  # what the last appends left waiting, if the chain was busy
    report = _verify(app, settings)
    assert report.intact, report.problems[:5]
    assert (report.checked, report.waiting) == (before + 8 * 12 * 2, 0)
    with sessions() as session:
        prevs = session.scalars(select(AuditChainLink.prev_hash)).all()
    assert len(prevs) == len(set(prevs))


@contextmanager
def _holding_the_chain(engine: Engine) -> Iterator[None]:
    """Another transaction that holds the chain until the block ends (PostgreSQL)."""
    with engine.connect() as connection, connection.begin():
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHAIN_LOCK_KEY})
        yield


def _append(app: FastAPI, audit: AuditLog, count: int) -> list[str]:
    with app.state.session_factory() as session, session.begin():
        # The old way waited for the chain: this would fail instead of waiting.
        session.execute(text("SET LOCAL lock_timeout = '2s'"))
        stored = audit.append_all(
            session, [audit.delivery(f"Task/t{i}", "x", ok=True) for i in range(count)]
        )
    return [event.id for event in stored]


@pytest.fixture
def pg_audit(engine: Engine, settings: Settings) -> AuditLog:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time: the chain is never busy")
    return _audit(settings)


def test_a_busy_chain_leaves_events_waiting_for_the_next_append(
    app: FastAPI, settings: Settings, engine: Engine, pg_audit: AuditLog
) -> None:
    audit = pg_audit
    with _holding_the_chain(engine):
        waiting = _append(app, audit, 2)  # does not wait for the holder
        report = _verify(app, settings)
        assert report.intact, report.problems
        assert report.waiting == 2
        assert not set(waiting) & set(_linked_ids(app))
    own = _append(app, audit, 1)
    assert _linked_ids(app)[-3:] == [*waiting, *own]  # the waiting first, in their order
    report = _verify(app, settings)
    assert report.intact, report.problems
    assert report.waiting == 0


def test_the_sealer_links_waiting_events_and_a_removed_one_is_reported(
    app: FastAPI, settings: Settings, engine: Engine, pg_audit: AuditLog
) -> None:
    audit = pg_audit
    with _holding_the_chain(engine):
        first, second = _append(app, audit, 2)
        assert audit.seal_waiting(app.state.session_factory) == 0  # still held: left alone
    with engine.begin() as connection:  # someone removes a waiting event before it is linked
        for table in ("fhir_search_index", "fhir_resource_version", "fhir_resource"):
            connection.execute(
                text(f"DELETE FROM {table} WHERE res_type = 'AuditEvent' AND res_id = :id"),
                {"id": second},
            )
    assert audit.seal_waiting(app.state.session_factory) == 2
    assert _linked_ids(app)[-2:] == [first, second]
    report = _verify(app, settings)
    assert report.waiting == 0
    problems = [p.problem for p in report.problems]
    assert "the audited event is missing" in problems
    assert "1 AuditEvents but 2 chain links and 0 waiting to be linked" in problems[-1]


def test_a_serving_process_links_what_waits_without_another_append(
    app: FastAPI, client: TestClient, settings: Settings, engine: Engine, pg_audit: AuditLog
) -> None:
    """The app's sealer (every 2 s) links events no later request came to link."""
    with _holding_the_chain(engine):
        waiting = _append(app, pg_audit, 2)
    deadline = time.monotonic() + 10
    while set(waiting) - set(_linked_ids(app)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _linked_ids(app)[-2:] == waiting
    report = _verify(app, settings)
    assert report.intact, report.problems
    assert report.waiting == 0
