"""The directory memo: repeated directory reads are served from memory, and a change
committed anywhere (here: through a second session factory, which has a memo of its own,
as a second gateway process would) is seen by the next transaction."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from gateway.routing import directory, routing_table
from gateway.store.db import make_session_factory
from gateway.store.directory_cache import SESSION_KEY, DirectoryCache
from gateway.store.resources import ResourceStore, StoredResource

from .conftest import hsa_of

UNIT = "vc-sodermalm"
SERVICE = "urn:riv:test:Service:1"
ADDRESS = "SE2321000016-VC9001"

pytestmark = pytest.mark.usefixtures("demo")


@pytest.fixture
def here(app: FastAPI) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = app.state.session_factory
    return factory


@pytest.fixture
def elsewhere(app: FastAPI) -> sessionmaker[Session]:
    """Another process's sessions: same database, a memo of their own."""
    return make_session_factory(app.state.engine, app.state.protection)


def _memo(factory: sessionmaker[Session]) -> DirectoryCache:
    with factory() as session:
        memo: DirectoryCache = session.info[SESSION_KEY]
    return memo


def _unit(factory: sessionmaker[Session]) -> StoredResource:
    with factory() as session, session.begin():
        found = directory.unit_by_hsa_id(ResourceStore(session), hsa_of(UNIT))
    assert found is not None
    assert found.body is not None
    return found


def _rename(session: Session, unit: StoredResource, name: str) -> None:
    assert unit.body is not None
    body: dict[str, Any] = {k: v for k, v in unit.body.items() if k not in ("id", "meta")}
    body["name"] = name
    ResourceStore(session).update(body, unit.id)


def test_a_repeated_lookup_is_answered_from_memory(here: sessionmaker[Session]) -> None:
    memo = _memo(here)
    first = _unit(here)
    hits = memo.hits
    again = _unit(here)
    assert memo.hits > hits
    assert again == first


def test_a_change_committed_by_another_process_is_seen_by_the_next_transaction(
    here: sessionmaker[Session], elsewhere: sessionmaker[Session]
) -> None:
    before = _unit(here)
    _unit(here)  # memoised now
    with elsewhere() as session, session.begin():
        _rename(session, before, "Omdöpt vårdcentral")
    after = _unit(here)
    assert after.body is not None
    assert after.body["name"] == "Omdöpt vårdcentral"
    assert after.version_id == before.version_id + 1


def test_a_deactivated_unit_is_no_longer_found(
    here: sessionmaker[Session], elsewhere: sessionmaker[Session]
) -> None:
    unit = _unit(here)
    assert unit.body is not None
    with elsewhere() as session, session.begin():
        body = {k: v for k, v in unit.body.items() if k not in ("id", "meta")}
        body["active"] = False
        ResourceStore(session).update(body, unit.id)
    with here() as session, session.begin():
        assert directory.unit_by_hsa_id(ResourceStore(session), hsa_of(UNIT)) is None


def test_a_transaction_that_changed_the_directory_reads_its_own_change(
    here: sessionmaker[Session],
) -> None:
    unit = _unit(here)
    with here() as session, session.begin():
        _rename(session, unit, "Ändrad i samma transaktion")
        seen = directory.unit_by_hsa_id(ResourceStore(session), hsa_of(UNIT))
        assert seen is not None
        assert seen.body is not None
        assert seen.body["name"] == "Ändrad i samma transaktion"


def test_a_rolled_back_change_is_not_remembered_anywhere(
    here: sessionmaker[Session], elsewhere: sessionmaker[Session]
) -> None:
    original = _unit(here)
    _unit(elsewhere)
    session = here()
    try:
        session.begin()
        _rename(session, original, "Aldrig sparad")
        directory.unit_by_hsa_id(ResourceStore(session), hsa_of(UNIT))
        session.rollback()
    finally:
        session.close()
    for factory in (here, elsewhere):
        assert _unit(factory) == original


def test_every_reader_gets_a_body_of_its_own(here: sessionmaker[Session]) -> None:
    first = _unit(here)
    assert first.body is not None
    first.body["name"] = "Ändrad av en läsare"
    first.body["identifier"].clear()
    again = _unit(here)
    assert again.body is not None
    assert again.body["name"] != "Ändrad av en läsare"
    assert again.body["identifier"]


def test_a_route_added_by_another_process_is_used_at_once(
    here: sessionmaker[Session], elsewhere: sessionmaker[Session]
) -> None:
    now = datetime.datetime.now(datetime.UTC)
    with here() as session, session.begin():
        assert not routing_table.has_routes(session, SERVICE, ADDRESS)
        with pytest.raises(routing_table.RoutingTableError):
            routing_table.route_for(session, SERVICE, ADDRESS)
    with elsewhere() as session, session.begin():
        routing_table.add_route(
            session, SERVICE, ADDRESS, "ep-new", valid_from=now - datetime.timedelta(days=1)
        )
    with here() as session, session.begin():
        assert routing_table.route_for(session, SERVICE, ADDRESS).endpoint_id == "ep-new"
        # The validity period is still judged at the time asked, not when memoised.
        later = now + datetime.timedelta(days=400)
        assert routing_table.route_for(session, SERVICE, ADDRESS, later).endpoint_id == "ep-new"
        earlier = now - datetime.timedelta(days=2)
        with pytest.raises(routing_table.RoutingTableError):
            routing_table.route_for(session, SERVICE, ADDRESS, earlier)


def test_case_data_is_never_memoised(here: sessionmaker[Session]) -> None:
    memo = _memo(here)
    with here() as session, session.begin():
        store = ResourceStore(session)
        patient = store.create({"resourceType": "Patient", "active": True})
        before = (memo.hits, memo.misses)
        assert store.current("Patient", patient.id) is not None
        assert store.current("Patient", patient.id) is not None
    assert (memo.hits, memo.misses) == before
