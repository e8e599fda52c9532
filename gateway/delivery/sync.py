"""The bookkeeping of inbound updates: polling high-water marks and applied versions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.delivery.models import InboundReceipt, PollMark
from gateway.store.resources import utc_now


@dataclass(frozen=True)
class Mark:
    endpoint_id: str
    high_water: str | None
    polled_at: datetime
    last_error: str | None


def high_water(session: Session, endpoint_id: str) -> str | None:
    row = session.get(PollMark, endpoint_id)
    return row.high_water if row is not None else None


def record_poll(
    session: Session, endpoint_id: str, mark: str | None, error: str | None = None
) -> None:
    """Note a poll: move the mark (when one is given) and keep the last error, if any."""
    row = session.get(PollMark, endpoint_id)
    if row is None:
        row = PollMark(endpoint_id=endpoint_id, high_water=None, polled_at=utc_now())
        session.add(row)
    if mark is not None:
        row.high_water = mark
    row.polled_at = utc_now()
    row.last_error = error[:500] if error else None
    session.flush()


def marks(session: Session) -> list[Mark]:
    rows = session.scalars(select(PollMark).order_by(PollMark.endpoint_id))
    return [Mark(r.endpoint_id, r.high_water, r.polled_at, r.last_error) for r in rows]


def receipt_exists(session: Session, task_id: str, via: str, remote_version: str) -> bool:
    return session.get(InboundReceipt, (task_id, via[:64], remote_version[:128])) is not None


def record_receipt(session: Session, task_id: str, via: str, remote_version: str) -> None:
    session.add(
        InboundReceipt(
            task_id=task_id,
            via=via[:64],
            remote_version=remote_version[:128],
            applied_at=utc_now(),
        )
    )
    session.flush()
