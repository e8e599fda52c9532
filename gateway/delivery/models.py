"""The outbox: every message to another system, written with the change that caused it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.store.models import Base, UTCDateTime


class OutboxMessage(Base):
    __tablename__ = "outbox_message"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    target: Mapped[str] = mapped_column(String(255), nullable=False)
    task: Mapped[str | None] = mapped_column(String(128), nullable=True)
    payload: Mapped[str] = mapped_column(Text, nullable=False)  # encrypted JSON
    idempotency_key: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    status: Mapped[str] = mapped_column(
        String(16), nullable=False
    )  # pending|delivered|dead|withheld
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # retry budget
    # Every claim counts, never reset: a claim's token (an operator's rerun resets attempts).
    claims: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    __table_args__ = (
        Index("ix_outbox_message_due", "status", "next_attempt_at"),
        Index("ix_outbox_message_task", "task"),
    )


class PollMark(Base):
    """How far a polled journal system has been read: one high-water mark per Endpoint."""

    __tablename__ = "journal_poll_mark"

    endpoint_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    high_water: Mapped[str | None] = mapped_column(String(64), nullable=True)  # peer instant
    polled_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)


class InboundReceipt(Base):
    """An update from a unit's system that was applied (its remote version), so a repeated
    poll or message applies it at most once."""

    __tablename__ = "inbound_receipt"

    task_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    via: Mapped[str] = mapped_column(String(64), primary_key=True)
    remote_version: Mapped[str] = mapped_column(String(128), primary_key=True)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
