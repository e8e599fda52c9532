"""Values a session keeps for the length of its current transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session

T = TypeVar("T")


def transaction_memo(session: Session, key: str, new: Callable[[], T]) -> T | None:
    """What the session keeps under ``key`` for its current (outermost) transaction:
    ``new()`` on the transaction's first call, the same object after that, a fresh one in
    the next transaction. None outside a transaction."""
    transaction = session.get_transaction()
    if transaction is None:
        return None
    held: tuple[object, T] | None = session.info.get(key)
    if held is None or held[0] is not transaction:
        held = (transaction, new())
        session.info[key] = held
    return held[1]
