"""Many rows into one table in one statement, on whichever backend a session is on.

A list of parameter sets given to ``session.execute(insert(table), rows)`` becomes one
INSERT per row on the wire (psycopg pipelines them, but PostgreSQL still parses, plans
and runs each one). On PostgreSQL, :func:`insert_rows` sends each column as one array
instead and inserts ``SELECT … FROM unnest(…) WITH ORDINALITY ORDER BY ordinality``:
one statement whatever the row count, in list order, so serial keys follow the list.
SQLite runs the same rows through the DBAPI's executemany, which costs no round trips.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys, each a column of ``table``) in order."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql" or len(rows) == 1:
        session.execute(insert(table), list(rows))
        return
    columns = [table.c[name] for name in rows[0]]
    arrays = [
        bindparam(
            f"col_{column.name}", [row[column.name] for row in rows], type_=ARRAY(column.type)
        )
        for column in columns
    ]
    unnested = (
        func.unnest(*arrays)
        .table_valued(*(column.name for column in columns), with_ordinality="ordinality")
        .render_derived(name="new_rows")
    )
    rows_in_order = select(*(unnested.c[column.name] for column in columns)).order_by(
        unnested.c.ordinality
    )
    session.execute(insert(table).from_select(columns, rows_in_order))
