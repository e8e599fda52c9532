"""Audit-ready routing events.

Every change of the directory, the routing tables or the listing register, and every
routing decision, is announced through :func:`record`. Today it writes one structured log
event; the security layer's audit trail (AuditEvent + hash chain) can subscribe with
:func:`subscribe` without any routing code changing. Events never carry person
identifiers: only counts, resource references of directory entries, HSA-ids of units,
codes and outcomes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.logging import get_logger
from gateway.metrics import ROUTING_EVENTS

log = get_logger("gateway.routing.events")

Listener = Callable[[str, dict[str, Any]], None]
_listeners: list[Listener] = []

# The fields an event may carry. Anything else is dropped, so a careless caller cannot
# put a person number into the audit stream.
ALLOWED_FIELDS = frozenset(
    {
        "actor",
        "source",
        "file_kind",
        "created",
        "updated",
        "unchanged",
        "deleted",
        "inserted",
        "rejected",
        "rows",
        "references",
        "outcome",
        "hsa_id",
        "organization",
        "endpoint",
        "service_contract",
        "logical_address",
        "lanskod",
        "kommunkod",
        "sources",
        "cached",
        "protected_identity",
        "lost_protection",  # listing rows an explicit 0 took protected identity from (a count)
    }
)


def subscribe(listener: Listener) -> Callable[[], None]:
    """Add a listener; returns a function that removes it again."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener)


def record(action: str, **fields: Any) -> None:
    """Announce ``action`` (e.g. ``directory.import``) with whitelisted fields."""
    clean = {k: v for k, v in fields.items() if k in ALLOWED_FIELDS}
    ROUTING_EVENTS.labels(action, str(fields.get("outcome", ""))).inc()
    log.info("routing_event", action=action, **clean)
    for listener in list(_listeners):
        listener(action, dict(clean))
