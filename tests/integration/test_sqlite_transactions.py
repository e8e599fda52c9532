"""SQLite: request transactions take the write lock up front; autocommit reads take none."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from gateway.store.db import IMMEDIATE_OPTION, make_engine
from gateway.store.migrate import upgrade


def test_autocommit_reads_begin_nothing_and_pass_a_writer(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade(url)
    engine = make_engine(url, sqlite_busy_timeout_ms=50)
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    writer = sqlite3.connect(tmp_path / "gateway.db", isolation_level=None)
    try:
        with engine.execution_options(**{IMMEDIATE_OPTION: True}).begin() as connection:
            connection.execute(text("SELECT count(*) FROM auth_client"))
        assert sent[0] == "BEGIN IMMEDIATE"
        sent.clear()
        writer.execute("BEGIN IMMEDIATE")  # another process is writing
        reads = engine.execution_options(isolation_level="AUTOCOMMIT", **{IMMEDIATE_OPTION: True})
        with reads.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM auth_client")).scalar() == 0
        assert not [s for s in sent if s.startswith("BEGIN")]
    finally:
        writer.close()
        engine.dispose()
