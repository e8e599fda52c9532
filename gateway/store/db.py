"""Engine and session factory for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from gateway.store.directory_cache import SESSION_KEY, DirectoryCache
from gateway.store.protection import BodyProtection

IMMEDIATE_OPTION = "kvgw_sqlite_immediate"
# A pooled connection idle longer than this is pinged before it is handed out (below).
IDLE_BEFORE_CHECK_SECONDS = 1.0
_LAST_USED = "kvgw_last_used"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(
    url: str,
    *,
    sqlite_busy_timeout_ms: int = 10_000,
    echo: bool = False,
    idle_check_seconds: float = IDLE_BEFORE_CHECK_SECONDS,
) -> Engine:
    """An engine with the settings each backend needs for the store's write pattern.

    SQLite: the file's folder is created, WAL journal, foreign keys on. Sessions (the
    request's unit of work) begin IMMEDIATE, so concurrent writers queue instead of failing
    with 'database is locked' at commit; plain connections begin DEFERRED and so can read
    beside a writer (the listing lookup inside a request, the readiness probe), and
    connections in AUTOCOMMIT begin nothing (the client check of every API call).

    On both, a database error's message leaves out the statement's parameters: it reaches
    logs, and the parameters are request data.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            hide_parameters=True,
            connect_args={"check_same_thread": False, "timeout": sqlite_busy_timeout_ms / 1000},
        )
        _configure_sqlite(engine, sqlite_busy_timeout_ms)
        return engine
    engine = create_engine(url, echo=echo, hide_parameters=True, pool_size=10, max_overflow=20)
    _check_idle_connections(engine, idle_check_seconds)
    return engine


def _check_idle_connections(engine: Engine, idle_seconds: float) -> None:
    """Ping a pooled connection before handing it out only if it sat idle for
    ``idle_seconds``; a dead one is replaced by a new connection (the pool retries a
    checkout that raises DisconnectionError).

    SQLAlchemy's ``pool_pre_ping`` pings at every checkout: a round trip for every
    request, two for an authenticated one. Under load connections are back in use within
    milliseconds and those pings find nothing; a connection the server or a proxy closed
    has sat idle (HikariCP skips its check for connections used within 500 ms, likewise).
    A connection that dies while in use fails its request, which is answered 503.
    """

    @event.listens_for(engine, "connect")
    def _connected(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_LAST_USED] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_LAST_USED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_LAST_USED, 0.0) < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise DisconnectionError("an idle pooled connection no longer answers") from error


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        options = connection.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            return  # each statement its own transaction, as asked: no BEGIN, no write lock
        connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get(IMMEDIATE_OPTION) else "BEGIN")


def make_session_factory(engine: Engine, protection: BodyProtection) -> sessionmaker[Session]:
    """Sessions that carry the data protection every stored body goes through, and one
    directory memo shared by all of them (:mod:`gateway.store.directory_cache`)."""
    return sessionmaker(
        bind=engine.execution_options(**{IMMEDIATE_OPTION: True}),
        expire_on_commit=False,
        autoflush=False,
        info={"protection": protection, SESSION_KEY: DirectoryCache()},
    )


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed when the block ends, rolled back on any exception."""
    with factory() as session, session.begin():
        yield session
