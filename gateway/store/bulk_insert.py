"""Many rows into one or more tables in one statement, on whichever backend a session is on.

A list of parameter sets given to ``session.execute(insert(table), rows)`` becomes one
INSERT per row on the wire (psycopg pipelines them, but PostgreSQL still parses, plans
and runs each one). On PostgreSQL, :func:`insert_rows` sends each column as one array
instead and inserts ``SELECT … FROM unnest(…) WITH ORDINALITY ORDER BY ordinality``:
one statement whatever the row count, in list order, so serial keys follow the list.
:func:`insert_into_tables` joins several such INSERTs into one statement, each but the
last a data-modifying ``WITH`` query: one round trip for a resource's head, version and
index rows together. Foreign keys are checked at the end of the statement, so a version
may go in beside the head it refers to.
The statement is compiled once per table and column list: building and compiling it
anew cost more Python time than the executemany it replaces.
SQLite runs the same rows through the DBAPI's executemany, table by table, which costs
no round trips.
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
_Column = tuple[str, str, _BindProcessor | None]  # name, parameter, bind processing
Rows = Sequence[dict[str, Any]]
Batch = tuple[Table, Rows]


def insert_rows(session: Session, table: Table, rows: Rows) -> None:
    """Insert ``rows`` (dicts with the same keys, each a column of ``table``) in order."""
    insert_into_tables(session, [(table, rows)])


def insert_into_tables(session: Session, batches: Sequence[Batch]) -> None:
    """Insert each batch's rows (as :func:`insert_rows`) into its table; on PostgreSQL
    all of them in one statement. Batches without rows are skipped. SQLite inserts the
    batches in the order given, so a table that others refer to comes first."""
    batches = [(table, rows) for table, rows in batches if rows]
    if not batches:
        return
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        for table, rows in batches:
            session.execute(insert(table), list(rows))
        return
    shapes = tuple((table, tuple(rows[0])) for table, rows in batches)
    sql, columns = _statement(shapes, dialect)
    arrays: dict[str, list[Any]] = {}
    for (_, rows), table_columns in zip(batches, columns, strict=True):
        for name, parameter, process in table_columns:
            arrays[parameter] = (
                [row[name] for row in rows]
                if process is None
                else [process(row[name]) for row in rows]
            )
    session.connection().exec_driver_sql(sql, arrays)


@lru_cache(maxsize=64)
def _statement(
    shapes: tuple[tuple[Table, tuple[str, ...]], ...], dialect: Dialect
) -> tuple[str, tuple[tuple[_Column, ...], ...]]:
    """One statement for these tables and column lists: the last INSERT is the main
    query, the others run as ``WITH`` queries of it."""
    parts = [
        _unnest_insert(table, names, dialect, f"t{i}_") for i, (table, names) in enumerate(shapes)
    ]
    *with_queries, (main, _) = parts
    prefix = ", ".join(f"w{i} AS ({sql})" for i, (sql, _) in enumerate(with_queries))
    sql = f"WITH {prefix} {main}" if prefix else main
    return sql, tuple(table_columns for _, table_columns in parts)


def _unnest_insert(
    table: Table, names: tuple[str, ...], dialect: Dialect, prefix: str
) -> tuple[str, tuple[_Column, ...]]:
    """The INSERT for one table and column list, and for each column its parameter name
    and the bind processing its type asks for (UTC datetimes)."""
    columns = [table.c[name] for name in names]
    parameters = [f"{prefix}{column.name}" for column in columns]
    arrays = [
        bindparam(parameter, type_=ARRAY(column.type))
        for parameter, column in zip(parameters, columns, strict=True)
    ]
    unnested = (
        func.unnest(*arrays)
        .table_valued(*names, with_ordinality="ordinality")
        .render_derived(name="new_rows")
    )
    rows_in_order = select(*(unnested.c[name] for name in names)).order_by(unnested.c.ordinality)
    sql = insert(table).from_select(columns, rows_in_order).compile(dialect=dialect).string
    for parameter in parameters:
        # psycopg's binary array dumping costs half its text form's quoting and escaping.
        sql = sql.replace(f"%({parameter})s", f"%({parameter})b")
    return sql, tuple(
        (column.name, parameter, column.type.bind_processor(dialect))
        for column, parameter in zip(columns, parameters, strict=True)
    )
