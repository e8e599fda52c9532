"""What the outbox handlers share: the audit of each delivery, and sending through the
adapter an Endpoint names."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from gateway.delivery.outbox import Message
from gateway.delivery.protocols import DeliveryResult, OutgoingRequest
from gateway.delivery.registry import AdapterRegistry
from gateway.security.audit import AuditLog


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
        self.audit.append(
            session, self.audit.delivery(message.payload["task"], message.target, ok=ok)
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

    def _send(
        self, endpoint: dict[str, Any], task_id: str, bundle: dict[str, Any], idempotency_key: str
    ) -> DeliveryResult:
        adapter = self.registry.for_endpoint(endpoint)
        if adapter is None:
            return DeliveryResult.give_up("no adapter for the Endpoint's connection type")
        return adapter.deliver(OutgoingRequest(task_id, bundle, idempotency_key), endpoint)
