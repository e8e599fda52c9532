"""Polling journal systems for status changes and answers (for peers that do not call back).

Each round, every active Endpoint is offered to its adapter's ``fetch_updates`` with the
Endpoint's high-water mark; adapters that are not polled (the inbox, push or callback
peers) return nothing. Endpoints that share an address, a connection type and an adapter
profile are one peer (a regional journal system serves many units) and are polled once.

Who speaks for an update is decided here, never by the peer's payload: the unit of the
Endpoint the Task was delivered to, when that Endpoint is one of the polled peer's;
otherwise the polled Endpoint's own unit, which the workflow then refuses (the Task is not
its own) and the audit trail records. Each update goes through
:meth:`gateway.delivery.inbound.InboundApplier.apply`. The mark moves on when the round is done,
unless an update was refused for a reason that may pass
(:func:`gateway.delivery.inbound.may_pass_later`: a fault in the gateway, or a Task that
another change reached while the update was checked): then the same changes are fetched
again next round, the applied ones are recognised and skipped, and the refused one is
checked against the Task as it is then. Any other refusal is final: the mark moves past it.

In the embedded default the poller runs on a thread of the API process
(``journal_poll_seconds``); in production it runs inside ``kv-gateway worker``, and
``kv-gateway journal poll`` runs one round by hand.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway.delivery.inbound import InboundApplier
from gateway.delivery.models import OutboxMessage
from gateway.delivery.protocols import adapter_profile_of
from gateway.delivery.registry import AdapterRegistry
from gateway.delivery.sync import high_water, record_poll
from gateway.logging import get_logger
from gateway.resources.references import references_in
from gateway.routing.directory import hsa_id_of
from gateway.search.query import parse_search
from gateway.store.resources import ResourceStore

log = get_logger(__name__)

JOURNAL_REQUEST = "journal-request"  # the outbox kind of a request to a unit
PAGE = 200


@dataclass(frozen=True)
class PolledEndpoint:
    endpoint_id: str
    body: dict[str, Any]
    unit_hsa_id: str | None


@dataclass(frozen=True)
class Peer:
    """Endpoints that are one journal system: same connection type, address and profile."""

    connection_type: str
    endpoints: tuple[PolledEndpoint, ...]
    since: str | None


@dataclass
class PollReport:
    peers: int = 0
    updates: int = 0
    changed: int = 0
    unchanged: int = 0
    refused: int = 0
    failures: list[str] = field(default_factory=list)  # operator details, no patient data


@dataclass
class JournalPoller:
    sessions: sessionmaker[Session]
    registry: AdapterRegistry
    inbound: InboundApplier

    def run_once(self) -> PollReport:
        report = PollReport()
        with self.sessions() as session:
            peers = _peers(session, self.registry)
        for peer in peers:
            self._poll(peer, report)
        return report

    def _poll(self, peer: Peer, report: PollReport) -> None:
        first = peer.endpoints[0]
        adapter = self.registry.for_endpoint(first.body)
        if adapter is None:
            return
        fetched = adapter.fetch_updates(first.body, peer.since)
        if fetched.error:
            report.failures.append(f"Endpoint/{first.endpoint_id}: {fetched.error}")
            log.warning(
                "journal_poll_failed",
                endpoint=f"Endpoint/{first.endpoint_id}",
                detail=fetched.error,
            )
            self._record(peer, None, fetched.error)
            return
        if not fetched.updates and fetched.high_water in (None, peer.since):
            return  # nothing new (and no polling at all for push-only adapters)
        report.peers += 1
        passing_failure = None
        for update in fetched.updates:
            report.updates += 1
            with self.sessions() as session:
                unit = _speaker(session, peer, update.task_id)
            result = self.inbound.apply(
                dataclasses.replace(update, unit_hsa_id=unit),
                via=f"{peer.connection_type}:poll",
            )
            if result.error is None:
                report.changed += result.changed
                report.unchanged += not result.changed
                continue
            report.refused += 1
            report.failures.append(f"Task/{update.task_id}: {result.detail}")
            if result.may_pass_later:  # a fault, or the Task changed while it was checked
                passing_failure = result.detail
        mark = peer.since if passing_failure else fetched.high_water or peer.since
        self._record(peer, mark, passing_failure)
        log.info(
            "journal_polled",
            endpoint=f"Endpoint/{first.endpoint_id}",
            updates=len(fetched.updates),
            mark_moved=mark != peer.since,
        )

    def _record(self, peer: Peer, mark: str | None, error: str | None) -> None:
        with self.sessions() as session, session.begin():
            for endpoint in peer.endpoints:
                record_poll(session, endpoint.endpoint_id, mark, error)

    def run_forever(self, stop: threading.Event, poll_seconds: float) -> None:
        while not stop.wait(poll_seconds):
            try:
                self.run_once()
            except Exception as error:  # keep the thread alive across DB hiccups
                log.error("journal_poll_round_failed", error_type=type(error).__name__)


def _active_endpoints(store: ResourceStore) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    offset = 0
    while True:
        query = parse_search(
            "Endpoint",
            [("status", "active"), ("_count", str(PAGE)), ("_offset", str(offset))],
            max_count=PAGE,
        )
        page, _ = store.search(query, with_total=False)
        found += [(s.id, s.body) for s in page if s.body is not None]
        if len(page) < PAGE:
            return found
        offset += PAGE


def _unit_hsa_id(store: ResourceStore, endpoint: dict[str, Any]) -> str | None:
    managing = references_in(endpoint.get("managingOrganization"))
    if not managing or not managing[0].startswith("Organization/"):
        return None
    organization = store.current("Organization", managing[0].split("/", 1)[1])
    return hsa_id_of(organization.body) if organization and organization.body else None


def _peers(session: Session, registry: AdapterRegistry) -> list[Peer]:
    store = ResourceStore(session)
    grouped: dict[tuple[str, str, str], list[PolledEndpoint]] = {}
    for endpoint_id, body in sorted(_active_endpoints(store)):
        if registry.for_endpoint(body) is None:
            continue
        code = str((body.get("connectionType") or {}).get("code", ""))
        key = (code, str(body.get("address", "")).rstrip("/"), adapter_profile_of(body) or "")
        grouped.setdefault(key, []).append(
            PolledEndpoint(endpoint_id, body, _unit_hsa_id(store, body))
        )
    peers = []
    for (code, _, _), endpoints in grouped.items():
        marks = [high_water(session, e.endpoint_id) for e in endpoints]
        since = next((m for m in marks if m), None)
        peers.append(Peer(code, tuple(endpoints), since))
    return peers


def _speaker(session: Session, peer: Peer, task_id: str) -> str:
    """The HSA-id the update is applied as (see the module docstring)."""
    target = session.execute(
        select(OutboxMessage.target).where(
            OutboxMessage.task == f"Task/{task_id}", OutboxMessage.kind == JOURNAL_REQUEST
        )
    ).scalar_one_or_none()
    for endpoint in peer.endpoints:
        if target == f"Endpoint/{endpoint.endpoint_id}" and endpoint.unit_hsa_id:
            return endpoint.unit_hsa_id
    return next((e.unit_hsa_id for e in peer.endpoints if e.unit_hsa_id), "")
