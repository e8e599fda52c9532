"""The Task state machine of a request, and who may make each change.

    requested ──▶ received ──▶ accepted ──▶ in-progress ──▶ completed
        │            │            │  ▲           │
        │            │            ▼  │           ▼
        │            │          on-hold ◀────────┘
        ├────────────┴──▶ rejected   (owner, with a reason code)
        ├──────── any open ──▶ cancelled   (requester, or the gateway on revoked consent)
        └──────── requested/received ──▶ failed   (the gateway, when delivery gives up;
                                                      an operator's rerun makes it requested again,
                                                      a report from the unit's system on it makes
                                                      it received: it did arrive after all)

The owner is the vårdcentral, the requester the kommun, and the gateway itself acts on
delivery, answers and consent. The AF-style order statuses map onto these: OLÄST =
requested, LÄST = received, ACCEPTERAD = accepted/in-progress, AVVISAD = rejected,
RADERAD = cancelled, KLAR = completed.
"""

from __future__ import annotations

from enum import StrEnum

from gateway.errors import FhirError


class Role(StrEnum):
    OWNER = "owner"
    REQUESTER = "requester"
    GATEWAY = "gateway"


OPEN = frozenset({"requested", "received", "accepted", "in-progress", "on-hold"})
CLOSED = frozenset({"completed", "rejected", "cancelled", "failed"})

_TRANSITIONS: dict[tuple[str, str], frozenset[Role]] = {
    ("requested", "received"): frozenset({Role.OWNER, Role.GATEWAY}),
    ("requested", "accepted"): frozenset({Role.OWNER}),
    ("received", "accepted"): frozenset({Role.OWNER}),
    ("received", "in-progress"): frozenset({Role.OWNER}),
    ("accepted", "in-progress"): frozenset({Role.OWNER}),
    ("accepted", "on-hold"): frozenset({Role.OWNER}),
    ("in-progress", "on-hold"): frozenset({Role.OWNER}),
    ("on-hold", "in-progress"): frozenset({Role.OWNER}),
    ("requested", "completed"): frozenset({Role.GATEWAY}),
    ("received", "completed"): frozenset({Role.GATEWAY}),
    ("accepted", "completed"): frozenset({Role.GATEWAY}),
    ("in-progress", "completed"): frozenset({Role.GATEWAY}),
    ("on-hold", "completed"): frozenset({Role.GATEWAY}),
    ("requested", "rejected"): frozenset({Role.OWNER}),
    ("received", "rejected"): frozenset({Role.OWNER}),
    ("requested", "failed"): frozenset({Role.GATEWAY}),
    ("received", "failed"): frozenset({Role.GATEWAY}),
    # An operator reruns a dead delivery: the failed Task is requested again.
    ("failed", "requested"): frozenset({Role.GATEWAY}),
    # The unit's system reports on a request the gateway gave up delivering: it arrived.
    ("failed", "received"): frozenset({Role.GATEWAY}),
}
for _status in OPEN:
    _TRANSITIONS[(_status, "cancelled")] = frozenset({Role.REQUESTER, Role.GATEWAY})

_STATUS_SV = {
    "requested": "skickad",
    "received": "mottagen",
    "accepted": "accepterad",
    "in-progress": "pågår",
    "on-hold": "vilande",
    "completed": "klar",
    "rejected": "avvisad",
    "cancelled": "återkallad",
    "failed": "misslyckad",
}


def _conflict(text_sv: str, diagnostics: str) -> FhirError:
    return FhirError.single(
        409, "business-rule", text_sv, expression="Task.status", diagnostics=diagnostics
    )


def check_transition(current: str, new: str, role: Role) -> None:
    """Raise 409 unless ``role`` may move a Task from ``current`` to ``new``."""
    if current == new:
        if current in CLOSED:
            raise _conflict(
                f"Uppgiften är redan {_STATUS_SV.get(current, current)} och kan inte ändras.",
                f"a {current} Task is final",
            )
        if role is not Role.OWNER and role is not Role.GATEWAY:
            raise _conflict(
                "Bara vårdcentralen kan ändra uppgiftens arbetsstatus.",
                "only the owner changes businessStatus",
            )
        return
    allowed = _TRANSITIONS.get((current, new))
    if allowed is None:
        raise _conflict(
            f"Uppgiften kan inte gå från {_STATUS_SV.get(current, current)} "
            f"till {_STATUS_SV.get(new, new)}.",
            f"no transition {current} -> {new}",
        )
    if role not in allowed:
        who = {Role.OWNER: "vårdcentralen", Role.REQUESTER: "kommunen", Role.GATEWAY: "tjänsten"}
        raise _conflict(
            f"Den ändringen får inte {who[role]} göra.",
            f"{current} -> {new} is made by {', '.join(sorted(r.value for r in allowed))}",
        )
