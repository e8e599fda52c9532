"""Many rows into one table in one statement, on whichever backend a session is on.

A list of parameter sets given to ``session.execute(insert(table), rows)`` becomes one
INSERT per row on the wire (psycopg pipelines them, but PostgreSQL still parses, plans
and runs each one). On PostgreSQL, :func:`insert_rows` sends each column as one array
instead and inserts ``SELECT … FROM unnest(…) WITH ORDINALITY ORDER BY ordinality``:
one statement whatever the row count, in list order, so serial keys follow the list.
The statement is compiled once per table and column list: building and compiling it
anew cost more Python time than the executemany it replaces.
SQLite runs the same rows through the DBAPI's executemany, which costs no round trips.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

_BindProcessor = Callable[[Any], Any]


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys, each a column of ``table``) in order."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql" or len(rows) == 1:
        session.execute(insert(table), list(rows))
        return
    sql, columns = _unnest_insert(table, tuple(rows[0]), dialect)
    arrays = {
        parameter: [row[name] for row in rows]
        if process is None
        else [process(row[name]) for row in rows]
        for name, parameter, process in columns
    }
    session.connection().exec_driver_sql(sql, arrays)


@lru_cache(maxsize=64)
def _unnest_insert(
    table: Table, names: tuple[str, ...], dialect: Dialect
) -> tuple[str, tuple[tuple[str, str, _BindProcessor | None], ...]]:
    """The statement for one table and column list, compiled once, and for each column
    its parameter name and the bind processing its type asks for (UTC datetimes)."""
    columns = [table.c[name] for name in names]
    arrays = [bindparam(f"col_{column.name}", type_=ARRAY(column.type)) for column in columns]
    unnested = (
        func.unnest(*arrays)
        .table_valued(*names, with_ordinality="ordinality")
        .render_derived(name="new_rows")
    )
    rows_in_order = select(*(unnested.c[name] for name in names)).order_by(unnested.c.ordinality)
    sql = insert(table).from_select(columns, rows_in_order).compile(dialect=dialect).string
    for column in columns:
        # psycopg's binary array dumping costs half its text form's quoting and escaping.
        sql = sql.replace(f"%(col_{column.name})s", f"%(col_{column.name})b")
    return sql, tuple(
        (column.name, f"col_{column.name}", column.type.bind_processor(dialect))
        for column in columns
    )
