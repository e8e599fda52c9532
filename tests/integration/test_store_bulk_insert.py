"""Many rows in one statement (``insert_rows``), and the lean search index it feeds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import event, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.security.models import AuditChainLink, ResourceParty
from gateway.store.bulk_insert import insert_into_tables, insert_rows
from gateway.store.models import ResourceHead, ResourceVersion, SearchIndexRow, table_of
from gateway.store.resources import ResourceStore


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


_AWKWARD = ['"', "\\", "{a,b}", "NULL", "", "åäö ✓", "rad\nbrytning", "a'b", " mellanslag "]


def _index_row(res_id: str, param: str, **values: Any) -> dict[str, Any]:
    return {
        "res_type": "Task",
        "res_id": res_id,
        "param": param,
        "system": values.get("system"),
        "value": values.get("value"),
        "date_start": values.get("date_start"),
        "date_end": values.get("date_end"),
    }


def test_rows_keep_their_order_types_and_nulls(engine: Engine, statements: list[str]) -> None:
    stockholm = timezone(timedelta(hours=1))
    heads = [
        {
            "res_type": "Task",
            "res_id": f"t{i}",
            "version_id": i + 1,
            "last_updated": datetime(2026, 11, 23, 12, i, tzinfo=stockholm),
            "deleted": i % 2 == 1,
        }
        for i in range(5)
    ]
    index = [
        _index_row("t0", "code", system="urn:s", value="a"),
        _index_row("t0", "owner", value="Organization/x"),
        _index_row("t1", "period", date_start=datetime(1, 1, 1), date_end=datetime(9999, 1, 1)),
        # Values that an array literal must quote or escape.
        *(_index_row("t2", "name", value=text) for text in _AWKWARD),
    ]
    with Session(engine) as session, session.begin():
        insert_rows(session, table_of(ResourceHead), heads)
        insert_rows(session, table_of(SearchIndexRow), index)
    written = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    # One statement per table on PostgreSQL; the DBAPI's executemany on SQLite.
    assert len(written) == 2
    with Session(engine) as session:
        stored = session.scalars(select(ResourceHead).order_by(ResourceHead.res_id)).all()
        assert [(h.res_id, h.version_id, h.deleted) for h in stored] == [
            (f"t{i}", i + 1, i % 2 == 1) for i in range(5)
        ]
        # Aware times went through the column type: stored as UTC, read back aware.
        assert stored[0].last_updated == datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
        rows = session.scalars(select(SearchIndexRow).order_by(SearchIndexRow.row_id)).all()
        assert [(r.res_id, r.param, r.system, r.value) for r in rows] == [
            ("t0", "code", "urn:s", "a"),
            ("t0", "owner", None, "Organization/x"),
            ("t1", "period", None, None),
            *(("t2", "name", None, text) for text in _AWKWARD),
        ]
        assert rows[2].date_start == datetime(1, 1, 1)


def test_audit_links_are_numbered_in_list_order(engine: Engine) -> None:
    links = [
        {
            "event_id": f"e{i}",
            "prev_hash": f"h{i - 1}",
            "hash": f"h{i}",
            "recorded": datetime(2026, 11, 23, tzinfo=UTC),
            "key_version": 1,
        }
        # Ids that sort against the list order, so a reordering would show.
        for i in (9, 3, 7, 1, 5)
    ]
    with Session(engine) as session, session.begin():
        insert_rows(session, table_of(AuditChainLink), links)
    with Session(engine) as session:
        in_sequence = session.scalars(select(AuditChainLink.event_id).order_by(AuditChainLink.seq))
        assert list(in_sequence) == ["e9", "e3", "e7", "e1", "e5"]


def _head(res_id: str) -> dict[str, Any]:
    return {
        "res_type": "Task",
        "res_id": res_id,
        "version_id": 1,
        "last_updated": datetime(2026, 11, 23, tzinfo=UTC),
        "deleted": False,
    }


def _version(res_id: str) -> dict[str, Any]:
    return {**_head(res_id), "method": "POST", "body": None}


def test_several_tables_go_in_with_one_statement(
    engine: Engine, statements: list[str], database_url: str
) -> None:
    """Versions refer to heads written by the same statement: the foreign key holds."""
    with Session(engine) as session, session.begin():
        insert_into_tables(
            session,
            [
                (table_of(ResourceHead), [_head("a"), _head("b")]),
                (table_of(SearchIndexRow), []),  # nothing: no part of the statement
                (table_of(ResourceVersion), [_version("a"), _version("b")]),
                (table_of(ResourceParty), [{"res_type": "Task", "res_id": "a", "party": "p"}]),
            ],
        )
    written = [s for s in statements if "INSERT" in s.upper()]
    assert not [s for s in written if "fhir_search_index" in s]
    # One statement on PostgreSQL; the DBAPI's executemany per table, in order, on SQLite.
    assert len(written) == (1 if database_url.startswith("postgresql") else 3)
    with Session(engine) as session:
        versions = session.scalars(select(ResourceVersion.res_id).order_by(ResourceVersion.res_id))
        assert list(versions) == ["a", "b"]
        assert session.scalars(select(ResourceParty.party)).all() == ["p"]


def test_a_broken_foreign_key_fails_the_whole_statement(engine: Engine) -> None:
    with pytest.raises(IntegrityError), Session(engine) as session, session.begin():
        insert_into_tables(
            session,
            [
                (table_of(ResourceHead), [_head("a")]),
                (table_of(ResourceVersion), [_version("a"), _version("no-such-head")]),
            ],
        )
    with Session(engine) as session:
        assert session.scalars(select(ResourceHead.res_id)).all() == []


def test_nothing_to_insert_runs_no_statement(engine: Engine, statements: list[str]) -> None:
    with Session(engine) as session, session.begin():
        insert_rows(session, table_of(SearchIndexRow), [])
    assert not [s for s in statements if "INSERT" in s.upper()]


def test_purge_removes_a_resources_index_rows(app: FastAPI) -> None:
    """The index has no foreign key to cascade from: the store removes the rows itself."""
    sessions = app.state.session_factory
    with sessions() as session, session.begin():
        task = ResourceStore(session).create(
            {"resourceType": "Task", "status": "requested", "intent": "order"}
        )
    rows_of_task = select(SearchIndexRow).where(SearchIndexRow.res_id == task.id)
    with sessions() as session:
        assert session.scalars(rows_of_task).all()
    with sessions() as session, session.begin():
        assert ResourceStore(session).purge("Task", task.id)
    with sessions() as session:
        assert session.scalars(rows_of_task).all() == []


def test_a_value_search_uses_the_value_index_without_statistics(
    engine: Engine, database_url: str
) -> None:
    """A fresh database has no statistics; the planner once scanned the date index,
    which shares its first two columns, for every identifier search."""
    if not database_url.startswith("postgresql"):
        pytest.skip("query plans are PostgreSQL's")
    rows = [_index_row(f"t{i}", "identifier", system="urn:s", value=f"v{i}") for i in range(300)]
    with Session(engine) as session, session.begin():
        insert_rows(session, table_of(SearchIndexRow), rows)
    with engine.connect() as connection:
        plan = "\n".join(
            connection.execute(
                text(
                    "EXPLAIN SELECT res_id FROM fhir_search_index WHERE res_type = 'Task' "
                    "AND param = 'identifier' AND value = 'v7' AND system = 'urn:s'"
                )
            ).scalars()
        )
    assert "ix_fhir_search_index_value" in plan
    assert "ix_fhir_search_index_date" not in plan
