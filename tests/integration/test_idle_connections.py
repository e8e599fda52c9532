"""Pooled PostgreSQL connections are checked before use only after sitting idle."""

from __future__ import annotations

import time

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from gateway.store.db import make_engine


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(postgres_url: str, pid: int) -> None:
    """What a server restart or a proxy's idle timeout does to a pooled connection."""
    dsn = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    time.sleep(0.1)  # the backend is gone before the pool is asked again


def test_an_idle_connection_the_server_closed_is_replaced(postgres_url: str) -> None:
    engine = make_engine(postgres_url, idle_check_seconds=0.2)
    try:
        first = _backend_pid(engine)
        _terminate(postgres_url, first)
        time.sleep(0.3)  # idle past the check
        assert _backend_pid(engine) != first  # pinged, found dead, replaced: no error
    finally:
        engine.dispose()


def test_a_connection_back_in_use_at_once_is_not_pinged(postgres_url: str) -> None:
    """The check is skipped for a connection used moments ago: here the closed one is
    handed out unpinged, and its first statement fails (answered 503 by the API)."""
    engine = make_engine(postgres_url, idle_check_seconds=60)
    try:
        first = _backend_pid(engine)
        _terminate(postgres_url, first)
        with pytest.raises(OperationalError):
            _backend_pid(engine)
        # The failure invalidated the pool: the next checkout connects anew.
        assert _backend_pid(engine) != first
    finally:
        engine.dispose()
