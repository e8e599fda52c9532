"""What an adapter is, seen from the core: one small Protocol per side.

Journal-system adapters (region side) deliver a request to a vårdcentral's system and, if
the system is polled rather than calling back, fetch what changed there since the last
poll; the Endpoint's connectionType picks the adapter, which is registered under the
entry-point group ``kv_gateway.journal_adapters``. The core never imports a concrete
adapter. What an adapter fetches is applied by :meth:`gateway.delivery.inbound.InboundApplier.apply`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from gateway.canonical import extension

# An Endpoint names the adapter settings it is reached with (credentials, payload form,
# polling) by this extension's valueString; the adapter's own configuration section holds
# what the name stands for, so no secret is ever stored in the directory.
EXT_ENDPOINT_ADAPTER_PROFILE = extension("kv-endpoint-adapter-profile")


def adapter_profile_of(endpoint: dict[str, Any]) -> str | None:
    """The adapter profile an Endpoint names, if any."""
    for ext in endpoint.get("extension") or []:
        if isinstance(ext, dict) and ext.get("url") == EXT_ENDPOINT_ADAPTER_PROFILE:
            value = ext.get("valueString")
            return str(value) if value else None
    return None


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


@dataclass(frozen=True)
class InboundUpdate:
    """A change the vårdcentral's system reports about one of our Tasks.

    Codes are ours (an adapter maps the peer's onto them): ``status`` is a Task status
    (received, accepted, in-progress, rejected, on-hold, completed), ``business_status`` a
    code of the business-status CodeSystem (:data:`gateway.canonical.CS_TASK_BUSINESS_STATUS`),
    ``status_reason`` a rejection-reason code (:data:`gateway.canonical.CS_REJECTION_REASON`).
    ``answer`` is a QuestionnaireResponse (JSON) when the unit answers; it completes the Task.
    ``remote_version`` is the peer's version of what it reports: the same version is applied
    at most once.
    """

    task_id: str  # our Task's logical id
    unit_hsa_id: str  # who says so; must be the Task's owner unit
    status: str | None = None
    business_status: str | None = None
    status_reason: str | None = None
    answer: dict[str, Any] | None = None
    remote_version: str | None = None


@dataclass(frozen=True)
class FetchResult:
    """What one poll of an Endpoint found, and the high-water mark to poll from next time.

    ``high_water`` None keeps the previous mark. ``error`` is a detail for operators (never
    patient data) when the poll failed; the mark is then kept and the next round tries again.
    """

    updates: tuple[InboundUpdate, ...] = ()
    high_water: str | None = None
    error: str = ""

    @classmethod
    def nothing(cls) -> FetchResult:
        """For adapters that are never polled (push or callback only)."""
        return cls()

    @classmethod
    def failed(cls, detail: str) -> FetchResult:
        return cls(error=detail)


class JournalAdapter(Protocol):
    connection_type: str

    def deliver(self, request: OutgoingRequest, endpoint: dict[str, Any]) -> DeliveryResult: ...

    def fetch_updates(self, endpoint: dict[str, Any], since: str | None) -> FetchResult:
        """Changes at the peer after ``since`` (the mark this returned last time; None at
        first). Adapters that are not polled return :meth:`FetchResult.nothing`."""
        ...

    def health(self, endpoint: dict[str, Any]) -> bool: ...
