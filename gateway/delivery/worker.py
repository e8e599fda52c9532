"""The delivery worker: drains the outbox through the handler for each message kind.

In the embedded default one worker thread runs inside the gateway process; in production
run ``kv-gateway worker`` processes beside the API replicas, as many as needed.

What one round claims is delivered in *lanes*: the messages about one Task (or, without
a Task, to one target) go one after another, in the order they were claimed, so a unit
never gets a request's cancellation before the request; different Tasks' messages go at
the same time, up to ``lanes`` at once, so a slow peer (a subscriber that answers at the
last second of its deadline, a journal system that times out) holds up only the messages
about its own Tasks, not every party's.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from gateway.delivery.outbox import (
    Message,
    RetryPolicy,
    claim,
    mark_delivered,
    mark_failed,
    renew_lease,
)
from gateway.delivery.protocols import DeliveryResult, Outcome
from gateway.logging import get_logger
from gateway.metrics import DELIVERIES

log = get_logger(__name__)


class Handler(Protocol):
    """Delivers one kind of message. The hooks run in a transaction of their own."""

    def deliver(self, message: Message) -> DeliveryResult: ...

    def on_delivered(self, session: Session, message: Message) -> None: ...

    def on_dead(self, session: Session, message: Message, error: str) -> None: ...


@dataclass
class DeliveryWorker:
    sessions: sessionmaker[Session]
    handlers: dict[str, Handler]
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    batch: int = 20
    lanes: int = 4  # Tasks delivered for at the same time

    def run_once(self) -> int:
        """Deliver what is due now; returns how many messages were attempted."""
        with self.sessions() as session, session.begin():
            messages = claim(session, self.batch, self.policy)
        lanes: dict[str, list[Message]] = {}
        for message in messages:
            lanes.setdefault(message.task or message.target, []).append(message)
        if len(lanes) <= 1 or self.lanes <= 1:
            self._deliver_in_turn(messages)
        else:
            with ThreadPoolExecutor(
                max_workers=min(self.lanes, len(lanes)), thread_name_prefix="delivery-lane"
            ) as pool:
                for finished in [
                    pool.submit(self._deliver_in_turn, lane) for lane in lanes.values()
                ]:
                    finished.result()  # a lane's database error ends the round, as before
        return len(messages)

    def _deliver_in_turn(self, messages: list[Message]) -> None:
        for message in messages:
            self._deliver(message)

    def drain(self, max_rounds: int = 100) -> int:
        total = 0
        for _ in range(max_rounds):
            done = self.run_once()
            total += done
            if done == 0:
                break
        return total

    def _deliver(self, message: Message) -> None:
        with self.sessions() as session, session.begin():
            if not renew_lease(session, message, self.policy):
                log.info("delivery_skipped", kind=message.kind, message_id=message.id)
                return  # withheld, or claimed again after this claim's lease ran out
        handler = self.handlers.get(message.kind)
        if handler is None:
            result = DeliveryResult.give_up(f"no handler for message kind {message.kind!r}")
        else:
            try:
                result = handler.deliver(message)
            except Exception as error:  # a broken adapter must not stop the worker
                # The type only: a traceback's locals or message may hold patient data.
                log.error(
                    "delivery_handler_failed", kind=message.kind, error_type=type(error).__name__
                )
                result = DeliveryResult.retry(f"handler error: {type(error).__name__}")
        with self.sessions() as session, session.begin():
            if result.outcome is Outcome.DELIVERED:
                if not mark_delivered(session, message):
                    self._superseded(message)
                    return
                DELIVERIES.labels(message.kind, "delivered").inc()
                if handler is not None:
                    handler.on_delivered(session, message)
                log.info(
                    "delivered", kind=message.kind, message_id=message.id, attempts=message.attempts
                )
                return
            dead = mark_failed(
                session,
                message,
                result.detail,
                self.policy,
                final=result.outcome is Outcome.GIVE_UP,
            )
            if dead is None:
                self._superseded(message)
                return
            DELIVERIES.labels(message.kind, "dead" if dead else "retry").inc()
            log.warning(
                "delivery_failed",
                kind=message.kind,
                message_id=message.id,
                attempts=message.attempts,
                dead=dead,
            )
            if dead and handler is not None:
                handler.on_dead(session, message, result.detail)

    @staticmethod
    def _superseded(message: Message) -> None:
        # Withheld while it was on its way, or claimed again: the row keeps what it says.
        log.warning("delivery_outcome_discarded", kind=message.kind, message_id=message.id)

    def run_forever(self, stop: threading.Event, poll_seconds: float = 1.0) -> None:
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception as error:  # keep the in-process worker alive across DB hiccups
                log.error("delivery_round_failed", error_type=type(error).__name__)
                busy = 0
            if not busy:
                stop.wait(poll_seconds)
