"""What an adapter is, seen from the core: one small Protocol per side.

Journal-system adapters (region side) deliver a request to a vårdcentral's system; the
Endpoint's connectionType picks the adapter, which is registered under the entry-point
group ``kv_gateway.journal_adapters``. The core never imports a concrete adapter.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"  # a passing failure: try again later
    GIVE_UP = "give-up"  # the peer refused it for good


@dataclass(frozen=True)
class DeliveryResult:
    outcome: Outcome
    detail: str = ""  # for operators; never patient data

    @classmethod
    def delivered(cls, detail: str = "") -> DeliveryResult:
        return cls(Outcome.DELIVERED, detail)

    @classmethod
    def retry(cls, detail: str) -> DeliveryResult:
        return cls(Outcome.RETRY, detail)

    @classmethod
    def give_up(cls, detail: str) -> DeliveryResult:
        return cls(Outcome.GIVE_UP, detail)


@dataclass(frozen=True)
class OutgoingRequest:
    """A request for a vårdcentral: the Task and what it needs, as a transaction Bundle."""

    task_id: str
    bundle: dict[str, Any]
    idempotency_key: str


class JournalAdapter(Protocol):
    connection_type: str

    def deliver(self, request: OutgoingRequest, endpoint: dict[str, Any]) -> DeliveryResult: ...

    def health(self, endpoint: dict[str, Any]) -> bool: ...
