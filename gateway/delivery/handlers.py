"""What the outbox handlers share: the audit of each delivery, and sending through the
adapter an Endpoint names."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway.delivery.models import OutboxMessage
from gateway.delivery.outbox import Message, retarget
from gateway.delivery.protocols import DeliveryResult, OutgoingRequest
from gateway.delivery.registry import AdapterRegistry
from gateway.logging import get_logger
from gateway.security.audit import AuditLog

log = get_logger(__name__)


class AuditedHandler:
    """Every delivery, and every delivery given up, is an AuditEvent."""

    def __init__(self, sessions: sessionmaker[Session], audit: AuditLog) -> None:
        self.sessions = sessions
        self.audit = audit

    def record_apart(self, event: dict[str, Any]) -> None:
        """Write an AuditEvent in a transaction of its own: for a check made while reading,
        once the reading session is over (on SQLite a session holds the one write lock from
        its start)."""
        with self.sessions() as session, session.begin():
            self.audit.append(session, event)

    def _record(self, session: Session, message: Message, *, ok: bool) -> None:
        # Where it went: the target as the handler last recorded it (see _reroute).
        target = session.scalar(select(OutboxMessage.target).where(OutboxMessage.id == message.id))
        self.audit.append(
            session, self.audit.delivery(message.payload["task"], target or message.target, ok=ok)
        )

    def on_delivered(self, session: Session, message: Message) -> None:
        self._record(session, message, ok=True)

    def on_dead(self, session: Session, message: Message, error: str) -> None:
        self._record(session, message, ok=False)


class AdapterHandler(AuditedHandler):
    """Handlers that send a Bundle to a unit through its journal adapter."""

    def __init__(
        self, sessions: sessionmaker[Session], registry: AdapterRegistry, audit: AuditLog
    ) -> None:
        super().__init__(sessions, audit)
        self.registry = registry

    def _reroute(self, message: Message, endpoint: str) -> None:
        """Record that a message goes to another Endpoint than it was queued for, before it
        goes: its audit names where it went, and `outbox list` where it goes."""
        log.info(
            "delivery_rerouted", message_id=message.id, queued_for=message.target, now_to=endpoint
        )
        with self.sessions() as session, session.begin():
            retarget(session, message.id, endpoint)

    def _send(
        self, endpoint: dict[str, Any], task_id: str, bundle: dict[str, Any], idempotency_key: str
    ) -> DeliveryResult:
        adapter = self.registry.for_endpoint(endpoint)
        if adapter is None:
            return DeliveryResult.give_up("no adapter for the Endpoint's connection type")
        return adapter.deliver(OutgoingRequest(task_id, bundle, idempotency_key), endpoint)
