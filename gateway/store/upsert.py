"""INSERT … ON CONFLICT for whichever backend a session is on."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session


def upsert_into(
    session: Session, model: type[DeclarativeBase]
) -> postgresql.Insert | sqlite.Insert:
    """An INSERT into ``model``'s table that takes ``on_conflict_do_nothing`` or
    ``on_conflict_do_update``; PostgreSQL and SQLite spell ON CONFLICT alike."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)
