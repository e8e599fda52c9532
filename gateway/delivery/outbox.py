"""Writing to and reading from the outbox.

A message is enqueued in the same transaction as the change that caused it, under an
idempotency key, so the same message is never queued twice. Its payload is encrypted like
every stored body. Workers claim due messages (``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
one writer at a time on SQLite), take a lease, deliver outside any transaction, and record
the result: delivered, retry with backoff, or dead after the retry budget.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NotRequired, TypedDict, Unpack

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from gateway.delivery.models import OutboxMessage
from gateway.store.protection import protection_of
from gateway.store.resources import utc_now
from gateway.store.upsert import upsert_into

PENDING, DELIVERED, DEAD, WITHHELD = "pending", "delivered", "dead", "withheld"


@dataclass(frozen=True)
class Message:
    id: str
    kind: str
    target: str
    task: str | None
    payload: dict[str, Any]
    idempotency_key: str
    attempts: int
    claim: int  # the row's claim count when this claim was made: its token


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_seconds: float = 2.0
    max_seconds: float = 900.0
    lease_seconds: float = 120.0

    def delay(self, attempts: int) -> timedelta:
        seconds = min(self.max_seconds, self.base_seconds * 2 ** max(0, attempts - 1))
        return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


def queued_before(session: Session, idempotency_key: str) -> bool:
    found = session.execute(
        select(OutboxMessage.id).where(OutboxMessage.idempotency_key == idempotency_key)
    ).first()
    return found is not None


class NewMessage(TypedDict):
    """What a message to another system is: its kind, where it goes, what it carries, and
    the key that makes queueing it twice queue it once."""

    kind: str
    target: str
    payload: dict[str, Any]
    idempotency_key: str
    task: NotRequired[str | None]
    not_before: NotRequired[datetime | None]


def outbox_row(session: Session, **message: Unpack[NewMessage]) -> dict[str, Any]:
    """A pending message as an ``outbox_message`` row, its payload encrypted."""
    now = utc_now()
    return {
        "id": str(uuid.uuid4()),
        "kind": message["kind"],
        "target": message["target"],
        "task": message.get("task"),
        "payload": protection_of(session).encrypt(
            json.dumps(message["payload"], ensure_ascii=False)
        ),
        "idempotency_key": message["idempotency_key"],
        "status": PENDING,
        "attempts": 0,
        "claims": 0,
        "next_attempt_at": message.get("not_before") or now,
        "created_at": now,
        "updated_at": now,
    }


def enqueue(session: Session, **message: Unpack[NewMessage]) -> bool:
    """Queue a message unless one with the same key exists; True when newly queued.

    One statement, INSERT … ON CONFLICT DO NOTHING on the key: of two transactions that
    queue the same message at once, one inserts and the other is told it was queued.
    A message whose key cannot have been used yet (it names a resource this transaction
    creates) may instead go in with that resource: :func:`outbox_row`.
    """
    inserted = session.execute(
        upsert_into(session, OutboxMessage)
        .values(outbox_row(session, **message))
        .on_conflict_do_nothing(index_elements=[OutboxMessage.idempotency_key])
        .returning(OutboxMessage.id)
    ).first()
    return inserted is not None


def withhold(session: Session, task: str, kinds: tuple[str, ...]) -> int:
    """Stop undelivered messages of a Task (when consent is revoked, say): those waiting,
    and dead ones, so that no operator's rerun sends them later."""
    return _settle(session, task, kinds, (PENDING, DEAD), WITHHELD, "withheld: consent revoked")


def mark_arrived(session: Session, task: str, kind: str) -> int:
    """A dead message of a Task that arrived after all (the peer reports on the Task): it
    counts as delivered, so that no operator's rerun sends it again."""
    return _settle(
        session,
        task,
        (kind,),
        (DEAD,),
        DELIVERED,
        "delivered after all: the peer reported on the Task",
    )


def _settle(
    session: Session,
    task: str,
    kinds: tuple[str, ...],
    among: tuple[str, ...],
    status: str,
    why: str,
) -> int:
    """Give a Task's messages of ``kinds`` that are in one of ``among`` their final
    ``status``, with ``why`` in place of their last error; answers how many."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.task == task,
            OutboxMessage.kind.in_(kinds),
            OutboxMessage.status.in_(among),
        )
        .values(status=status, updated_at=utc_now(), last_error=why)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def claim(session: Session, limit: int, policy: RetryPolicy) -> list[Message]:
    """Take a lease on up to ``limit`` due messages (commit the session afterwards)."""
    now = utc_now()
    statement = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == PENDING,
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until <= now),
        )
        .order_by(OutboxMessage.next_attempt_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    rows = list(session.scalars(statement))
    protection = protection_of(session)
    claimed: list[Message] = []
    for row in rows:
        row.locked_until = now + timedelta(seconds=policy.lease_seconds)
        row.attempts += 1
        row.claims += 1
        claimed.append(
            Message(
                row.id,
                row.kind,
                row.target,
                row.task,
                json.loads(protection.decrypt(row.payload)),
                row.idempotency_key,
                row.attempts,
                row.claims,
            )
        )
    return claimed


def _still_ours(message: Message) -> Any:
    """The row as this claim left it: still waiting, and claimed no more times since (the
    claim count is the claim's token). A row another worker claimed after the lease ran
    out, or one withheld meanwhile, is no longer this worker's to change."""
    return (
        (OutboxMessage.id == message.id)
        & (OutboxMessage.status == PENDING)
        & (OutboxMessage.claims == message.claim)
    )


def renew_lease(session: Session, message: Message, policy: RetryPolicy) -> bool:
    """Lease the message afresh just before delivering it (a batch's later messages would
    otherwise have spent their lease waiting); False when it is no longer this claim's."""
    result = session.execute(
        update(OutboxMessage)
        .where(_still_ours(message))
        .values(locked_until=utc_now() + timedelta(seconds=policy.lease_seconds))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_delivered(session: Session, message: Message) -> bool:
    """Record the delivery; False when the row is no longer this claim's to change."""
    result = session.execute(
        update(OutboxMessage)
        .where(_still_ours(message))
        .values(status=DELIVERED, locked_until=None, last_error=None, updated_at=utc_now())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_failed(
    session: Session, message: Message, error: str, policy: RetryPolicy, *, final: bool
) -> bool | None:
    """Schedule a retry, or dead-letter it; True when it is now dead, None when the row
    is no longer this claim's to change."""
    dead = final or message.attempts >= policy.max_attempts
    now = utc_now()
    result = session.execute(
        update(OutboxMessage)
        .where(_still_ours(message))
        .values(
            status=DEAD if dead else PENDING,
            locked_until=None,
            last_error=error[:500],
            next_attempt_at=now if dead else now + policy.delay(message.attempts),
            updated_at=now,
        )
    )
    return dead if result.rowcount else None  # type: ignore[attr-defined]


def listing(session: Session, status: str | None = None, limit: int = 100) -> list[OutboxMessage]:
    statement = select(OutboxMessage).order_by(OutboxMessage.created_at.desc()).limit(limit)
    if status:
        statement = statement.where(OutboxMessage.status == status)
    return list(session.scalars(statement))


def rerun(session: Session, message_id: str) -> bool:
    """Put a dead message back in the queue, with a fresh retry budget (operator command).
    The claim count goes on: no claim made before the rerun matches one made after it."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == DEAD)
        .values(
            status=PENDING,
            attempts=0,
            next_attempt_at=utc_now(),
            locked_until=None,
            updated_at=utc_now(),
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def retarget(session: Session, message_id: str, target: str) -> None:
    """Record where a message now goes (its unit's Endpoint changed since it was queued)."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(target=target, updated_at=utc_now())
    )


def depth(session: Session) -> list[tuple[tuple[str, str], float]]:
    """How many messages there are of each (kind, status), for the metrics."""
    rows = session.execute(
        select(OutboxMessage.kind, OutboxMessage.status, func.count()).group_by(
            OutboxMessage.kind, OutboxMessage.status
        )
    ).all()
    return [((str(kind), str(status)), float(count)) for kind, status, count in rows]
