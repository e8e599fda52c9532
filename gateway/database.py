"""One place that turns settings into a database handle: engine, protected sessions."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from gateway.security.protection import DataProtection
from gateway.settings import Settings
from gateway.store.db import make_engine, make_session_factory


@dataclass(frozen=True)
class Database:
    engine: Engine
    sessions: sessionmaker[Session]
    protection: DataProtection

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(settings: Settings, engine: Engine | None = None) -> Database:
    engine = engine or make_engine(
        settings.database_url.get_secret_value(),
        sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
    )
    protection = DataProtection.from_settings(settings)
    return Database(engine, make_session_factory(engine, protection), protection)
