"""A process-wide memo of directory reads, valid while the directory is unchanged.

Routing and the tenant rules read the same few directory entries on every request (the
kommun, the unit with an HSA-id, its Endpoint and parents, the routing table), and every
Task change asks which Subscriptions are active. Both change seldom, so those reads are
memoised here.

Correctness rests on one row, ``directory_generation``: every write to a cached type (and
to the routing table) replaces its token with a fresh random one, in the writer's own
transaction. A transaction reads the token once, with its first cached lookup; the memo
answers only while its entries were filled under that same token, and is emptied when the
token differs. So every process sees a directory change as soon as it is committed
(a token from a rolled-back write never comes back), and a transaction that has written
to the directory itself reads past the memo until it ends.

The memo holds directory entries (Organizations, Endpoints and routes) and Subscriptions,
never case data. Values must be immutable: callers get their own copies.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.metrics import DIRECTORY_MEMO
from gateway.store.models import DirectoryGeneration
from gateway.store.transaction_memo import transaction_memo
from gateway.store.upsert import upsert_into

# PractitionerRoles are not memoised: a kommun's submission carries its
# socialsekreterare's role, so they change with every request. Subscriptions are not
# directory entries, but configuration that changes as seldom.
CACHED_TYPES = frozenset({"Organization", "Endpoint", "Subscription"})
SESSION_KEY = "directory_cache"
_STATE_KEY = "directory_cache.transaction"
_ROW_ID = 1
_GENERATION_TOKEN = select(DirectoryGeneration.token).where(DirectoryGeneration.id == _ROW_ID)

T = TypeVar("T")


class DirectoryCache:
    """Entries filled under one generation token; thread-safe."""

    def __init__(self, max_entries: int = 20_000) -> None:
        self._max_entries = max_entries
        self._token: str | None = None
        self._entries: dict[Hashable, object] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, token: str, key: Hashable) -> tuple[bool, object]:
        with self._lock:
            if token != self._token:
                self._token = token
                self._entries.clear()
            if key in self._entries:
                self.hits += 1
                DIRECTORY_MEMO.labels("hit").inc()
                return True, self._entries[key]
            self.misses += 1
            DIRECTORY_MEMO.labels("miss").inc()
            return False, None

    def put(self, token: str, key: Hashable, value: object) -> None:
        with self._lock:
            if token != self._token:
                return  # the directory changed while the value was read
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
            self._entries[key] = value


@dataclass
class _TransactionState:
    token: str | None = None  # None: no token row (an emptied table)
    token_read: bool = False
    wrote: bool = False  # this transaction changed the directory


def _state(session: Session) -> _TransactionState:
    """What this transaction has learnt so far (a new transaction begins, as the first
    statement would begin it)."""
    session.connection()
    state = transaction_memo(session, _STATE_KEY, _TransactionState)
    assert state is not None  # a transaction is open
    return state


def _transaction_token(session: Session) -> str | None:
    """This transaction's generation token; None when it must not use the memo."""
    state = _state(session)
    if state.wrote:
        return None
    if not state.token_read:
        # Core, on the transaction's connection: read on every request, so no ORM layer.
        state.token = session.connection().execute(_GENERATION_TOKEN).scalar_one_or_none()
        state.token_read = True
    return state.token


def cached(session: Session, key: Hashable, read: Callable[[], T]) -> T:
    """``read()``, or what it returned before under the same directory generation."""
    cache: DirectoryCache | None = session.info.get(SESSION_KEY)
    if cache is None:
        return read()
    token = _transaction_token(session)
    if token is None:
        return read()
    found, value = cache.get(token, key)
    if found:
        return value  # type: ignore[return-value]
    fresh = read()
    cache.put(token, key, fresh)
    return fresh


def directory_changed(session: Session) -> None:
    """Record, in the caller's transaction, that the directory changed.

    One statement per transaction: the first write replaces the token, later writes in
    the same transaction find it replaced already.
    """
    state = _state(session)
    if state.wrote:
        return
    statement = upsert_into(session, DirectoryGeneration).values(id=_ROW_ID, token=uuid.uuid4().hex)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[DirectoryGeneration.id], set_={"token": statement.excluded.token}
        )
    )
    state.wrote = True
