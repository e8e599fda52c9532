"""The test database fixture really gives both backends, freshly migrated and empty."""

from __future__ import annotations

from sqlalchemy import Engine, func, select, text

from gateway.store.migrate import head_revision
from gateway.store.models import ResourceHead


def test_backend_is_migrated_and_empty(engine: Engine, database_url: str) -> None:
    with engine.connect() as connection:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        count = connection.execute(select(func.count()).select_from(ResourceHead)).scalar()
    assert revision == head_revision()
    assert count == 0
    assert engine.dialect.name == database_url.split("+")[0].split(":")[0]
