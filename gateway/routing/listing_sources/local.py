"""The local listing register as a listing source (regions that push files, the test
harness). Looks the person up by keyed hash only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from gateway.routing import listing_register
from gateway.routing.listing_sources import SourceAnswer, SourceUnavailable
from gateway.routing.person import ListingHasher, PersonId

_shared: ContextVar[Connection | None] = ContextVar("listing_register_connection", default=None)


@contextmanager
def using_connection(connection: Connection) -> Iterator[None]:
    """Let lookups in this block run on the caller's connection (its transaction). On
    SQLite a second connection would wait for the caller's write lock."""
    token = _shared.set(connection)
    try:
        yield
    finally:
        _shared.reset(token)


class LocalRegisterSource:
    name = listing_register.SOURCE_NAME

    def __init__(self, engine: Engine, hasher: ListingHasher) -> None:
        self.engine = engine
        self.hasher = hasher

    def lookup(self, person: PersonId, home_lanskod: str) -> SourceAnswer:
        key = self.hasher.key_for(person)
        try:
            shared = _shared.get()
            if shared is not None:
                listings, protected = listing_register.lookup(shared, key)
            else:
                with self.engine.connect() as connection:
                    listings, protected = listing_register.lookup(connection, key)
        except OperationalError as error:
            raise SourceUnavailable(
                self.name, "database", f"register unavailable: {type(error).__name__}"
            ) from None
        return SourceAnswer(self.name, tuple(listings), protected)
