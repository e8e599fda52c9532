"""A transaction reads what it wrote itself from memory, and never anything a savepoint
rolled back or a reader changed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker

from gateway.store.resources import ResourceStore


@pytest.fixture
def sessions(app: FastAPI) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = app.state.session_factory
    return factory


@pytest.fixture
def statements(app: FastAPI) -> Iterator[list[str]]:
    """Every SQL statement the test's engine runs."""
    seen: list[str] = []

    def record(_conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(app.state.engine, "before_cursor_execute", record)
    yield seen
    event.remove(app.state.engine, "before_cursor_execute", record)


def _patient(name: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "name": [{"family": name}]}


def test_what_the_transaction_wrote_is_read_without_asking_the_database(
    sessions: sessionmaker[Session], statements: list[str]
) -> None:
    with sessions() as session, session.begin():
        store = ResourceStore(session)
        created = store.create(_patient("Först"))
        statements.clear()
        found = store.current("Patient", created.id)
        assert statements == []
        assert found == created
        updated = store.update({**_patient("Sedan")}, created.id)
        found = store.current("Patient", created.id)
        assert found is not None
        assert found.version_id == updated.version_id == 2
        assert found.body == updated.body
        store.delete("Patient", created.id)
        statements.clear()
        assert store.current("Patient", created.id) is None
        assert statements == []


def test_a_reader_that_changes_a_body_changes_only_its_own_copy(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session, session.begin():
        store = ResourceStore(session)
        created = store.create(_patient("Original"))
        assert created.body is not None
        created.body["name"][0]["family"] = "Ändrad av anroparen"
        first = store.current("Patient", created.id)
        assert first is not None
        assert first.body is not None
        first.body["name"].clear()
        again = store.current("Patient", created.id)
        assert again is not None
        assert again.body is not None
        assert again.body["name"] == [{"family": "Original"}]


def test_a_rolled_back_savepoint_is_not_remembered(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        store = ResourceStore(session)
        created = store.create(_patient("Före"))
        savepoint = session.begin_nested()
        store.update(_patient("I sparpunkten"), created.id)
        changed = store.current("Patient", created.id)
        assert changed is not None
        assert changed.version_id == 2
        savepoint.rollback()
        after = store.current("Patient", created.id)
        assert after is not None
        assert after.version_id == 1
        assert after.body is not None
        assert after.body["name"] == [{"family": "Före"}]


def test_the_memo_ends_with_the_transaction(sessions: sessionmaker[Session]) -> None:
    session = sessions()
    try:
        session.begin()
        created = ResourceStore(session).create(_patient("Aldrig sparad"))
        session.rollback()
        session.begin()
        assert ResourceStore(session).current("Patient", created.id) is None
        session.rollback()
    finally:
        session.close()
