"""The audit trail: an AuditEvent (IHE BALP patterns) for every read, write, search, login,
consent decision and delivery, hash-chained so that no event can be altered, removed or
reordered unnoticed.

Each request collects its entries in an :class:`AuditTrail`. When the request succeeds the
events are written in its own transaction; when it fails they are written, marked as
failures, in a fresh transaction after the rollback, so refusals are audited too. Events
are stored as AuditEvent resources (encrypted like every body) and linked in
``audit_chain`` by HMAC-SHA256(key, previous hash || canonical JSON of the event). On
PostgreSQL events written while another transaction holds the chain wait in
``audit_chain_waiting`` until the next holder links them (see ``AuditLog.append_all``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from gateway.errors import FhirError
from gateway.logging import get_logger
from gateway.metrics import CONSENT_DECISIONS
from gateway.security.caller import Caller
from gateway.security.models import AuditChainLink, AuditChainWaiting
from gateway.security.protection import DecryptionError
from gateway.store.bulk_insert import Batch, insert_rows
from gateway.store.models import ResourceHead, table_of
from gateway.store.resources import ResourceStore, StoredResource, utc_now

log = get_logger(__name__)

GENESIS = "0" * 64
CHAIN_LOCK_KEY = 0x6B76_6177_6475_6974  # any constant: serialises chain appends on PostgreSQL

_TYPE_REST = {
    "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
    "code": "rest",
    "display": "Restful Operation",
}
_TYPE_LOGIN = {
    "system": "http://dicom.nema.org/resources/ontology/DCM",
    "code": "110114",
    "display": "User Authentication",
}
_TYPE_SECURITY_ALERT = {
    "system": "http://dicom.nema.org/resources/ontology/DCM",
    "code": "110113",
    "display": "Security Alert",
}
_TYPE_TRANSMIT = {
    "system": "http://dicom.nema.org/resources/ontology/DCM",
    "code": "110106",
    "display": "Export",
}
_PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
_ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
_SUBTYPE_SYSTEM = "http://hl7.org/fhir/restful-interaction"
_ACTIONS = {
    "create": "C",
    "read": "R",
    "vread": "R",
    "history-instance": "R",
    "history-type": "R",
    "update": "U",
    "delete": "D",
    "search-type": "E",
    "transaction": "E",
    "batch": "E",
}


def outcome_code(status: int | None) -> str:
    """AuditEvent.outcome: 0 success, 4 minor failure (refused), 8 serious failure."""
    if status is None or status < 400:
        return "0"
    return "4" if status < 500 else "8"


@dataclass
class AuditEntry:
    subtype: str
    resource_type: str | None
    entities: list[str] = field(default_factory=list)
    query: str | None = None
    status: int | None = None  # None while pending
    finished: bool = False

    def succeed(self, *references: str) -> None:
        self.entities.extend(r for r in references if r not in self.entities)
        self.status = self.status or 200
        self.finished = True

    def fail(self, status: int) -> None:
        self.status = status
        self.finished = True


@dataclass
class AuditTrail:
    """What one request did, to be written as AuditEvents when it ends."""

    caller: Caller | None
    entries: list[AuditEntry] = field(default_factory=list)
    # Finished events (consent decisions …): written as they are, whatever the request's fate.
    events: list[dict[str, Any]] = field(default_factory=list)

    def begin(
        self,
        subtype: str,
        resource_type: str | None,
        res_id: str | None = None,
        *,
        query: str | None = None,
    ) -> AuditEntry:
        entry = AuditEntry(subtype, resource_type, query=query)
        if resource_type and res_id:
            entry.entities.append(f"{resource_type}/{res_id}")
        self.entries.append(entry)
        return entry

    def fail_pending(self, status: int) -> None:
        """Mark what was under way when an error struck (a batch entry, say) as failed."""
        for entry in self.entries:
            if not entry.finished:
                entry.fail(status)


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class ChainProblem:
    seq: int | None
    problem: str


@dataclass(frozen=True)
class ChainReport:
    checked: int
    head_hash: str
    problems: list[ChainProblem]
    waiting: int = 0  # events stored but not yet linked (see AuditLog.append_all)

    @property
    def intact(self) -> bool:
        return not self.problems


class AuditEvents:
    """Builds AuditEvent bodies in the IHE BALP patterns."""

    def __init__(self, observer: str = "kv-gateway") -> None:
        self.observer = observer

    def _agents(self, caller: Caller | None, client_id: str | None = None) -> list[dict[str, Any]]:
        requestor: dict[str, Any] = {
            "type": {
                "coding": [
                    {
                        "system": "http://dicom.nema.org/resources/ontology/DCM",
                        "code": "110153",
                        "display": "Source Role ID",
                    }
                ]
            },
            "requestor": True,
        }
        if caller is not None:
            requestor["who"] = {"reference": caller.party}
            requestor["altId"] = caller.client_id
        elif client_id is not None:
            requestor["altId"] = client_id
        else:
            requestor["who"] = {"display": "okänd klient"}
        return [requestor]

    def _event(
        self,
        type_: dict[str, str],
        subtype: str,
        action: str,
        status: int | None,
        agents: list[dict[str, Any]],
        entities: list[dict[str, Any]],
    ) -> dict[str, Any]:
        event: dict[str, Any] = {
            "resourceType": "AuditEvent",
            "type": type_,
            "subtype": [{"system": _SUBTYPE_SYSTEM, "code": subtype}]
            if type_ is _TYPE_REST
            else [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": subtype}],
            "action": action,
            "recorded": utc_now().isoformat().replace("+00:00", "Z"),
            "outcome": outcome_code(status),
            "agent": agents,
            "source": {
                "site": self.observer,
                "observer": {"display": self.observer},
                "type": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/security-source-type",
                        "code": "4",
                        "display": "Application Server",
                    }
                ],
            },
        }
        if entities:
            event["entity"] = entities
        return event

    def _entities(self, entry: AuditEntry) -> list[dict[str, Any]]:
        entities: list[dict[str, Any]] = []
        for reference in entry.entities[:50]:
            is_patient = reference.startswith("Patient/")
            entities.append(
                {
                    "what": {"reference": reference},
                    "type": {
                        "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                        "code": "1" if is_patient else "2",
                        "display": "Person" if is_patient else "System Object",
                    },
                }
            )
        if entry.query is not None:
            entities.append(
                {
                    "type": {
                        "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                        "code": "2",
                        "display": "System Object",
                    },
                    "query": base64.b64encode(entry.query.encode()).decode(),
                    "description": entry.resource_type or "",
                }
            )
        return entities

    def consent_decision(
        self,
        caller: Caller | None,
        *,
        permitted: bool,
        reason: str,
        patient: str,
        consent: str | None,
        recipient: str,
        custodian: str,
    ) -> dict[str, Any]:
        """An AuditEvent in the IHE BALP consent authorization decision pattern."""
        CONSENT_DECISIONS.labels("permit" if permitted else "deny", reason).inc()
        agents = self._agents(caller)
        agents[0]["type"] = {
            "coding": [
                {"system": _PARTICIPATION, "code": "IRCP", "display": "information recipient"}
            ]
        }
        agents[0]["who"] = {"reference": recipient}
        agents.append(
            {
                "type": {
                    "coding": [{"system": _PARTICIPATION, "code": "CST", "display": "custodian"}]
                },
                "who": {"reference": custodian},
                "requestor": False,
            }
        )
        entities: list[dict[str, Any]] = [
            {
                "what": {"reference": patient},
                "type": {"system": _ENTITY_TYPE, "code": "1", "display": "Person"},
            }
        ]
        if consent:
            entities.append(
                {
                    "what": {"reference": consent},
                    "type": {"system": _ENTITY_TYPE, "code": "2", "display": "System Object"},
                }
            )
        event = self._event(
            _TYPE_SECURITY_ALERT, "AuthZ-Consent", "E", 200 if permitted else 403, agents, entities
        )
        event["subtype"] = [
            {
                "system": "https://profiles.ihe.net/ITI/BALP/CodeSystem/AuthZsubType",
                "code": "AuthZ-Consent",
            }
        ]
        event["outcome"] = "0" if permitted else "8"
        event["outcomeDesc"] = reason
        return event

    def delivery(self, task: str, target: str, *, ok: bool) -> dict[str, Any]:
        """A message handed to another system (or given up on), by the gateway itself."""
        agents: list[dict[str, Any]] = [
            {"who": {"display": self.observer}, "requestor": True},
            {
                "who": {"reference": target} if "/" in target else {"display": target},
                "requestor": False,
            },
        ]
        entities = [
            {
                "what": {"reference": task},
                "type": {"system": _ENTITY_TYPE, "code": "2", "display": "System Object"},
            }
        ]
        event = self._event(
            _TYPE_TRANSMIT, "ITI-delivery", "R", 200 if ok else 502, agents, entities
        )
        event["subtype"] = [
            {
                "system": "http://dicom.nema.org/resources/ontology/DCM",
                "code": "110106",
                "display": "Export",
            }
        ]
        return event


class AuditLog(AuditEvents):
    """Writes AuditEvents into the store and the hash chain, and verifies the chain."""

    def __init__(self, chain_key: bytes, observer: str = "kv-gateway") -> None:
        super().__init__(observer)
        self.chain_key = chain_key

    def write_trail(
        self, session: Session, trail: AuditTrail, failed_status: int | None = None
    ) -> None:
        events: list[dict[str, Any]] = []
        for entry in trail.entries:
            # After a rollback nothing the request did was kept: every entry failed.
            status = failed_status if failed_status is not None else entry.status
            events.append(
                self._event(
                    _TYPE_REST,
                    entry.subtype,
                    _ACTIONS.get(entry.subtype, "E"),
                    status,
                    self._agents(trail.caller),
                    self._entities(entry),
                )
            )
        self.append_all(session, [*events, *trail.events])

    def login(
        self, session: Session, *, client_id: str | None, outcome_ok: bool, reason: str | None
    ) -> None:
        event = self._event(
            _TYPE_LOGIN,
            "110122",  # Login
            "E",
            200 if outcome_ok else 401,
            self._agents(None, client_id),
            [],
        )
        if reason:
            event["outcomeDesc"] = reason
        self.append(session, event)

    def append(self, session: Session, event: dict[str, Any]) -> StoredResource:
        """Store the event and link it into the chain, in the caller's transaction."""
        return self.append_all(session, [event])[0]

    def append_all(self, session: Session, events: list[dict[str, Any]]) -> list[StoredResource]:
        """Store events and link them into the chain in order, in the caller's transaction:
        one call to claim the chain and one write, however many events the request
        produced.

        On PostgreSQL a transaction that finds the chain held by another does not wait
        for it (under load every request would queue behind the holder): its events are
        stored and left waiting, and the next transaction that gets the chain links them
        before its own (``audit_chain_claim``, migration 0010)."""
        if not events:
            return []
        store = ResourceStore(session)
        claim = _claim_chain(session)
        if claim is None:
            return store.create_many(events, companions=_waiting_rows)
        earlier = self._waiting_links(store, claim)
        head = earlier[-1]["hash"] if earlier else claim.head

        def links(stored: list[StoredResource]) -> list[Batch]:
            rows = earlier + self._chained(head, [(e.id, e.body, e.last_updated) for e in stored])
            # In order, after the events: seq follows the list, so the chain reads back linked.
            return [(table_of(AuditChainLink), rows)]

        return store.create_many(events, companions=links)

    def seal_waiting(self, sessions: sessionmaker[Session]) -> int:
        """Link the events left waiting (PostgreSQL), unless another transaction holds the
        chain and will; answers how many were linked. Cheap when nothing waits: no lock
        is taken then."""
        with sessions() as session, session.begin():
            if session.execute(_ANY_WAITING).first() is None:
                return 0
            claim = _claim_chain(session)
            if claim is None:
                return 0
            rows = self._waiting_links(ResourceStore(session), claim)
            if rows:
                insert_rows(session, table_of(AuditChainLink), rows)
            return len(rows)

    def seal_forever(
        self, sessions: sessionmaker[Session], stop: threading.Event, poll_seconds: float
    ) -> None:
        """A serving process's sealer: links waiting events every ``poll_seconds``, so none
        waits long when no request comes to link it."""
        while not stop.wait(poll_seconds):
            try:
                sealed = self.seal_waiting(sessions)
            except Exception as error:  # keep sealing across database hiccups
                log.error("audit_seal_failed", error_type=type(error).__name__)
                continue
            if sealed:
                log.info("audit_events_sealed", count=sealed)

    def _waiting_links(self, store: ResourceStore, claim: _Claim) -> list[dict[str, Any]]:
        """Links for the events the claim took off the waiting list, in their order. An
        event gone meanwhile is linked all the same, so verifying reports it missing."""
        if not claim.waiting:
            return []
        found = {e.id: e for e in store.current_many("AuditEvent", claim.waiting)}
        now = utc_now()
        entries: list[tuple[str, dict[str, Any] | None, datetime]] = []
        for event_id in claim.waiting:
            event = found.get(event_id)
            entries.append(
                (event_id, event.body, event.last_updated) if event else (event_id, {}, now)
            )
        return self._chained(claim.head, entries)

    def _chained(
        self, prev: str, events: list[tuple[str, dict[str, Any] | None, datetime]]
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for event_id, body, recorded in events:
            link = self._link_hash(prev, body or {})
            rows.append(
                {
                    "event_id": event_id,
                    "prev_hash": prev,
                    "hash": link,
                    "recorded": recorded,
                    "key_version": 1,
                }
            )
            prev = link
        return rows

    def _link_hash(self, prev: str, body: dict[str, Any]) -> str:
        return hmac.new(
            self.chain_key, prev.encode() + _canonical(body), hashlib.sha256
        ).hexdigest()

    # ----- verifying ------------------------------------------------------------------

    def verify(self, sessions: sessionmaker[Session], batch: int = 1000) -> ChainReport:
        problems: list[ChainProblem] = []
        checked = 0
        prev = GENESIS
        with sessions() as session:
            store = ResourceStore(session)
            for link in self._links(session, batch):
                checked += 1
                if link.prev_hash != prev:
                    problems.append(
                        ChainProblem(
                            link.seq, "link does not follow the previous one (removed or reordered)"
                        )
                    )
                try:
                    event = store.current("AuditEvent", link.event_id)
                except ValueError as error:  # a key no longer configured, damaged ciphertext
                    problems.append(ChainProblem(link.seq, _unreadable(link.event_id, error)))
                    prev = link.hash
                    continue
                if event is None or event.body is None:
                    problems.append(ChainProblem(link.seq, "the audited event is missing"))
                elif (
                    event.version_id != 1
                    or self._link_hash(link.prev_hash, event.body) != link.hash
                ):
                    problems.append(ChainProblem(link.seq, "the event was altered"))
                prev = link.hash
            events = session.execute(
                select(func.count())
                .select_from(ResourceHead)
                .where(ResourceHead.res_type == "AuditEvent")
            ).scalar_one()
            waiting = session.execute(
                select(func.count()).select_from(AuditChainWaiting)
            ).scalar_one()
            if events != checked + waiting:
                problems.append(
                    ChainProblem(
                        None,
                        f"{events} AuditEvents but {checked} chain links "
                        f"and {waiting} waiting to be linked",
                    )
                )
        return ChainReport(checked, prev, problems, waiting)

    @staticmethod
    def _links(session: Session, batch: int) -> Iterator[AuditChainLink]:
        last_seq = -1
        while True:
            rows = list(
                session.scalars(
                    select(AuditChainLink)
                    .where(AuditChainLink.seq > last_seq)
                    .order_by(AuditChainLink.seq)
                    .limit(batch)
                )
            )
            yield from rows
            if len(rows) < batch:
                return
            last_seq = rows[-1].seq


def _unreadable(event_id: str, error: ValueError) -> str:
    """Why a stored event could not be read, naming the event and never its content."""
    why = str(error) if isinstance(error, DecryptionError) else "its stored body is not readable"
    return f"AuditEvent/{event_id} cannot be decrypted: {why}"


# Migration 0010: try the chain's lock; if granted, read the head and take the waiting list.
_CHAIN_CLAIM = text("SELECT head, waiting FROM audit_chain_claim(:key)")
_ANY_WAITING = select(AuditChainWaiting.seq).limit(1)
_LAST_LINK_HASH = select(AuditChainLink.hash).order_by(AuditChainLink.seq.desc()).limit(1)


@dataclass(frozen=True)
class _Claim:
    """The chain, held by this transaction to its end: the last link's hash (GENESIS for an
    empty chain) and the events waiting to be linked, oldest first."""

    head: str
    waiting: list[str]


def _claim_chain(session: Session) -> _Claim | None:
    """Hold the chain for this transaction, or None when another transaction holds it
    (PostgreSQL). SQLite transactions already run one writer at a time: never None."""
    if session.get_bind().dialect.name == "postgresql":
        row = session.execute(_CHAIN_CLAIM, {"key": CHAIN_LOCK_KEY}).one()
        if row.head is None:
            return None
        return _Claim(str(row.head), list(row.waiting or []))
    head = session.execute(_LAST_LINK_HASH).scalar_one_or_none()
    return _Claim(str(head) if head is not None else GENESIS, [])


def _waiting_rows(stored: list[StoredResource]) -> list[Batch]:
    return [(table_of(AuditChainWaiting), [{"event_id": event.id} for event in stored])]


@contextmanager
def audited_transaction(
    sessions: sessionmaker[Session],
    audit: AuditLog,
    trail: AuditTrail,
    *,
    not_failures: tuple[type[Exception], ...] = (),
) -> Iterator[Session]:
    """One database transaction with the request's audit trail written in it.

    If the block raises, the transaction is rolled back and the trail is written after it,
    in a transaction of its own, every entry failed with the error's status (500 for anything
    but a :class:`FhirError`). Exceptions in ``not_failures`` roll back too, but the entries
    keep their own statuses (a form shown again with its messages is no failed read).
    """
    try:
        with sessions() as session, session.begin():
            yield session
            audit.write_trail(session, trail)
    except not_failures:
        _write_after_rollback(sessions, audit, trail, None)
        raise
    except FhirError as error:
        _write_after_rollback(sessions, audit, trail, error.status)
        raise
    except Exception:
        _write_after_rollback(sessions, audit, trail, 500)
        raise


def _write_after_rollback(
    sessions: sessionmaker[Session], audit: AuditLog, trail: AuditTrail, status: int | None
) -> None:
    if trail.entries or trail.events:
        with sessions() as session, session.begin():
            audit.write_trail(session, trail, failed_status=status)
