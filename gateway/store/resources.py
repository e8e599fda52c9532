"""The versioned FHIR resource store: create, read, vread, update, delete, history, search.

Works on one SQLAlchemy session; the caller owns the transaction, so a FHIR transaction
Bundle (or a workflow step touching several resources) is all-or-nothing.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, bindparam, delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from gateway.errors import FhirError, changed_meanwhile, gone, not_found, version_conflict
from gateway.search.index import index_rows
from gateway.search.query import SearchQuery, small_number
from gateway.search.sql import search_sql
from gateway.security.models import ResourceParty
from gateway.store.bulk_insert import Batch, insert_into_tables, insert_rows
from gateway.store.directory_cache import CACHED_TYPES, cached, directory_changed
from gateway.store.models import (
    ResourceHead,
    ResourceVersion,
    SearchIndexRow,
    same_version,
    table_of,
)
from gateway.store.protection import protection_of
from gateway.store.transaction_memo import transaction_memo
from gateway.store.visibility import EVERYTHING, Visibility


@dataclass(frozen=True)
class StoredResource:
    resource_type: str
    id: str
    version_id: int
    last_updated: datetime
    deleted: bool
    method: str
    body: dict[str, Any] | None

    @property
    def etag(self) -> str:
        return f'W/"{self.version_id}"'

    @property
    def reference(self) -> str:
        return f"{self.resource_type}/{self.id}"


def new_id() -> str:
    return str(uuid.uuid4())


def utc_now() -> datetime:
    return datetime.now(UTC)


def _with_meta(body: dict[str, Any], res_id: str, version: int, at: datetime) -> dict[str, Any]:
    stamped = dict(body)
    stamped["id"] = res_id
    meta = dict(stamped.get("meta") or {})
    meta["versionId"] = str(version)
    meta["lastUpdated"] = at.isoformat(timespec="microseconds").replace("+00:00", "Z")
    stamped["meta"] = meta
    # Keep resourceType and id first, as FHIR JSON conventionally does.
    ordered = {"resourceType": stamped.pop("resourceType"), "id": stamped.pop("id")}
    ordered.update(stamped)
    return ordered


def parse_version(etag_or_version: str) -> str:
    """``W/"3"`` or ``"3"`` or ``3`` -> ``3``."""
    value = etag_or_version.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"')


def _precondition(if_match: str) -> ColumnElement[bool]:
    """What ``If-Match`` asks of the head: ``*`` any current version (not deleted), else
    that version (a number too large to be one matches none)."""
    if if_match == "*":
        return ResourceHead.deleted.is_(False)
    expected = small_number(parse_version(if_match))
    return ResourceHead.version_id == (-1 if expected is None else expected)


def _precondition_failed(if_match: str | None, head: ResourceHead) -> FhirError | None:
    """The 412 for an ``If-Match`` that ``head`` does not meet; None when it does (or
    there is none), and the write failed for another reason."""
    if if_match is None:
        return None
    if if_match == "*":
        if not head.deleted:
            return None
        return FhirError.single(
            412,
            "conflict",
            "Resursen har tagits bort, så villkoret i If-Match uppfylls inte.",
            diagnostics="If-Match: * but the resource is deleted",
        )
    expected = small_number(parse_version(if_match))
    if expected == head.version_id:
        return None
    return version_conflict("?" if expected is None else str(expected), str(head.version_id))


# A memoised resource: the resource without its body, and the body as JSON text, so
# every reader gets a body of its own to change.
_Frozen = tuple[StoredResource, str | None]
_WRITTEN_KEY = "store.written"


Readers = Callable[["StoredResource"], Collection[str]]
# Rows of other tables that go in with new resources, made from them as stored.
Companions = Callable[[list["StoredResource"]], Sequence[Batch]]


def _party_rows(res_type: str, res_id: str, parties: Collection[str]) -> list[dict[str, Any]]:
    return [{"res_type": res_type, "res_id": res_id, "party": party} for party in sorted(parties)]


def _json(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def _freeze(found: list[StoredResource]) -> _Frozen | None:
    if not found:
        return None
    stored = found[0]
    return replace(stored, body=None), None if stored.body is None else _json(stored.body)


def _thaw(frozen: _Frozen | None) -> StoredResource | None:
    if frozen is None:
        return None
    stored, text = frozen
    return stored if text is None else replace(stored, body=json.loads(text))


class VersionColumns(Protocol):
    """A version as read: an ORM object, or a Core row of the version table's columns."""

    @property
    def res_type(self) -> str: ...
    @property
    def res_id(self) -> str: ...
    @property
    def version_id(self) -> int: ...
    @property
    def last_updated(self) -> datetime: ...
    @property
    def deleted(self) -> bool: ...
    @property
    def method(self) -> str: ...
    @property
    def body(self) -> str | None: ...


_HEADS = table_of(ResourceHead)
_VERSIONS = table_of(ResourceVersion)
_INDEX = table_of(SearchIndexRow)
_PARTIES = table_of(ResourceParty)
# The current, not deleted versions of some resources of one type.
_CURRENT_VERSIONS = (
    select(_VERSIONS)
    .join(_HEADS, same_version(_HEADS, _VERSIONS))
    .where(
        _VERSIONS.c.res_type == bindparam("res_type"),
        _VERSIONS.c.res_id.in_(bindparam("ids", expanding=True)),
        _HEADS.c.deleted.is_(False),
    )
)


_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(:key)")


class ResourceStore:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.protection = protection_of(session)

    def _load(self, stored: str | None) -> dict[str, Any] | None:
        if stored is None:
            return None
        loaded: dict[str, Any] = json.loads(self.protection.decrypt(stored))
        return loaded

    def _stored(self, row: VersionColumns) -> StoredResource:
        return StoredResource(
            resource_type=row.res_type,
            id=row.res_id,
            version_id=row.version_id,
            last_updated=row.last_updated,
            deleted=row.deleted,
            method=row.method,
            body=self._load(row.body),
        )

    # ----- writes ---------------------------------------------------------------------

    def create(
        self,
        body: dict[str, Any],
        *,
        res_id: str | None = None,
        parties: Readers | None = None,
    ) -> StoredResource:
        """Store a new resource under a server id (or ``res_id``, for trusted internal use);
        ``parties`` as for :meth:`create_many`."""
        return self.create_many([body], res_ids=[res_id], parties=parties)[0]

    def create_many(
        self,
        bodies: Sequence[dict[str, Any]],
        *,
        res_ids: Sequence[str | None] | None = None,
        parties: Readers | None = None,
        companions: Companions | None = None,
    ) -> list[StoredResource]:
        """Store new resources in one statement on PostgreSQL, however many there are.

        The heads, the first versions, the search-index rows and the party grants go in
        together (``insert_into_tables``; on SQLite one executemany per table), so a
        request that writes several resources at once (its audit events, for one) pays
        for one statement, not four per resource. ``parties`` names who may see each new
        resource (``grant``); it is asked once all of them are in this transaction's
        memo, so it may read one that refers to another. ``companions`` makes rows of
        other tables from the stored resources (the audit chain's links), which go in
        with them, after them.
        """
        now = utc_now()
        heads: list[dict[str, Any]] = []
        versions: list[dict[str, Any]] = []
        index: list[dict[str, Any]] = []
        stored: list[StoredResource] = []
        for body, given_id in zip(bodies, res_ids or [None] * len(bodies), strict=True):
            res_type = body["resourceType"]
            res_id = given_id or new_id()
            stamped = _with_meta(body, res_id, 1, now)
            heads.append(
                {
                    "res_type": res_type,
                    "res_id": res_id,
                    "version_id": 1,
                    "last_updated": now,
                    "deleted": False,
                }
            )
            created = StoredResource(res_type, res_id, 1, now, False, "POST", stamped)
            versions.append(self._version_row(created))
            index.extend(self._index_rows(res_type, res_id, stamped))
            stored.append(created)
        if not stored:
            return []
        self._touched({res.resource_type for res in stored})
        grants = (
            [row for new in stored for row in _party_rows(new.resource_type, new.id, parties(new))]
            if parties is not None
            else []
        )
        insert_into_tables(
            self.session,
            [
                (_HEADS, heads),
                (_VERSIONS, versions),
                (_INDEX, index),
                (_PARTIES, grants),
                *(companions(stored) if companions is not None else ()),
            ],
        )
        return stored

    def update(
        self,
        body: dict[str, Any],
        res_id: str,
        *,
        if_match: str | None = None,
        based_on: int | None = None,
    ) -> StoredResource:
        """A new version of an existing resource (also one that was deleted).

        With ``if_match`` (the client's precondition) the update happens only if the
        current version is that one (``*``: if the resource is not deleted), else 412.
        With ``based_on`` (the version the
        caller's checks read) likewise, else 409: a change committed since then is
        refused, not overwritten. The check and the increment are one UPDATE statement,
        so of two concurrent versioned updates exactly one wins.
        """
        res_type = body["resourceType"]
        self._touched({res_type})
        now = utc_now()
        statement = (
            update(ResourceHead)
            .where(ResourceHead.res_type == res_type, ResourceHead.res_id == res_id)
            .values(version_id=ResourceHead.version_id + 1, last_updated=now, deleted=False)
            .returning(ResourceHead.version_id)
        )
        if if_match is not None:
            statement = statement.where(_precondition(if_match))
        if based_on is not None:
            statement = statement.where(ResourceHead.version_id == based_on)
        version = self.session.execute(statement).scalar_one_or_none()
        if version is None:
            head = self._head(res_type, res_id)
            if head is None:
                raise not_found(res_type, res_id)
            raise _precondition_failed(if_match, head) or changed_meanwhile(res_type)
        stamped = _with_meta(body, res_id, version, now)
        updated = StoredResource(res_type, res_id, version, now, False, "PUT", stamped)
        self._write_version(updated)
        self._reindex(res_type, res_id, stamped)
        return updated

    def delete(self, res_type: str, res_id: str, *, if_match: str | None = None) -> StoredResource:
        """A deletion version; with ``if_match`` only over that version, else 412."""
        self._touched({res_type})
        now = utc_now()
        statement = (
            update(ResourceHead)
            .where(
                ResourceHead.res_type == res_type,
                ResourceHead.res_id == res_id,
                ResourceHead.deleted.is_(False),
            )
            .values(version_id=ResourceHead.version_id + 1, last_updated=now, deleted=True)
            .returning(ResourceHead.version_id)
        )
        if if_match is not None:
            statement = statement.where(_precondition(if_match))
        version = self.session.execute(statement).scalar_one_or_none()
        if version is None:
            head = self._head(res_type, res_id)
            if head is None:
                raise not_found(res_type, res_id)
            raise _precondition_failed(if_match, head) or gone(res_type)
        deleted = StoredResource(res_type, res_id, version, now, True, "DELETE", None)
        self._write_version(deleted)
        self._replace_index(res_type, [res_id], [])  # a deleted resource is found by no search
        return deleted

    def parties(self, res_type: str, res_id: str) -> set[str]:
        return set(
            self.session.scalars(
                select(ResourceParty.party).where(
                    ResourceParty.res_type == res_type, ResourceParty.res_id == res_id
                )
            )
        )

    def grant(self, res_type: str, res_id: str, parties: set[str]) -> None:
        """Let ``parties`` see the resource (in addition to those that already do)."""
        new = parties - self.parties(res_type, res_id)
        insert_rows(self.session, _PARTIES, _party_rows(res_type, res_id, new))

    def purge(self, res_type: str, res_id: str) -> bool:
        """Remove a resource with every version, index row and party grant (retention)."""
        self._touched({res_type})
        self._remember(StoredResource(res_type, res_id, 0, utc_now(), True, "PURGE", None), None)
        self.session.execute(
            delete(ResourceParty).where(
                ResourceParty.res_type == res_type, ResourceParty.res_id == res_id
            )
        )
        for table in (SearchIndexRow, ResourceVersion):
            self.session.execute(
                delete(table).where(table.res_type == res_type, table.res_id == res_id)
            )
        result = self.session.execute(
            delete(ResourceHead).where(
                ResourceHead.res_type == res_type, ResourceHead.res_id == res_id
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def revoke(self, res_type: str, res_id: str, parties: set[str]) -> None:
        """Stop ``parties`` from seeing the resource."""
        self.session.execute(
            delete(ResourceParty).where(
                ResourceParty.res_type == res_type,
                ResourceParty.res_id == res_id,
                ResourceParty.party.in_(sorted(parties)),
            )
        )

    def lock_criteria(self, res_type: str, criteria: str) -> None:
        """Serialise conditional creates on the same criteria until the transaction ends.

        PostgreSQL takes a transaction-scoped advisory lock; SQLite transactions already
        begin IMMEDIATE and so run one writer at a time.
        """
        if self.session.get_bind().dialect.name != "postgresql":
            return
        digest = hashlib.blake2b(f"{res_type}?{criteria}".encode(), digest_size=8).digest()
        key = int.from_bytes(digest, "big", signed=True)
        self.session.connection().execute(_ADVISORY_LOCK, {"key": key})

    # ----- reads ----------------------------------------------------------------------

    def read(self, res_type: str, res_id: str) -> StoredResource:
        head = self._head(res_type, res_id)
        if head is None:
            raise not_found(res_type, res_id)
        if head.deleted:
            raise gone(res_type)
        return self.vread(res_type, res_id, head.version_id)

    def current(self, res_type: str, res_id: str) -> StoredResource | None:
        """The current version, or None when the resource is unknown or deleted.

        What this transaction wrote itself is answered from its own memo, and directory
        entries from the directory memo while the directory is unchanged.
        """
        written = self._written()
        if written is not None and (res_type, res_id) in written:
            return _thaw(written[(res_type, res_id)])
        if res_type not in CACHED_TYPES:
            found = self._current_bodies([(res_type, res_id)])
            return found[0] if found else None
        frozen = cached(
            self.session,
            ("current", res_type, res_id),
            lambda: _freeze(self._current_bodies([(res_type, res_id)])),
        )
        return _thaw(frozen)

    def known(self, res_type: str, res_id: str) -> bool:
        """Whether the id was ever used for this type (deleted resources count)."""
        return self._head(res_type, res_id) is not None

    def vread(self, res_type: str, res_id: str, version_id: int) -> StoredResource:
        row = self.session.get(ResourceVersion, (res_type, res_id, version_id))
        if row is None:
            raise not_found(res_type, res_id, version=True)
        if row.deleted:
            raise gone(res_type)
        return self._stored(row)

    def history(
        self,
        res_type: str,
        res_id: str | None = None,
        *,
        since: datetime | None = None,
        count: int = 20,
        offset: int = 0,
        visibility: Visibility = EVERYTHING,
    ) -> tuple[list[StoredResource], int]:
        """Versions newest first, for one resource or a whole type, with the total count."""
        conditions = [
            ResourceVersion.res_type == res_type,
            visibility.condition(ResourceVersion.res_type, ResourceVersion.res_id),
        ]
        if res_id is not None:
            if self._head(res_type, res_id) is None:
                raise not_found(res_type, res_id)
            conditions.append(ResourceVersion.res_id == res_id)
        if since is not None:
            conditions.append(ResourceVersion.last_updated >= since)
        total = self.session.execute(
            select(func.count()).select_from(ResourceVersion).where(*conditions)
        ).scalar_one()
        rows = self.session.scalars(
            select(ResourceVersion)
            .where(*conditions)
            .order_by(
                ResourceVersion.last_updated.desc(),
                ResourceVersion.res_id,
                ResourceVersion.version_id.desc(),
            )
            .limit(count)
            .offset(offset)
        ).all()
        return [self._stored(row) for row in rows], total

    def search(
        self,
        query: SearchQuery,
        *,
        visibility: Visibility = EVERYTHING,
        with_total: bool = True,
    ) -> tuple[list[StoredResource], int | None]:
        """Current, non-deleted, visible resources matching ``query``: one page and the total."""
        sql = search_sql(query, self.protection, visibility)
        # Core rows on the session's connection: no ORM objects for a read-only page.
        rows = self.session.connection().execute(sql.page, sql.page_params)
        found = [self._stored(row) for row in rows]
        total = self.session.execute(sql.total, sql.params).scalar_one() if with_total else None
        return found, total

    # ----- internals ------------------------------------------------------------------

    def _written(self) -> dict[tuple[str, str], _Frozen | None] | None:
        """This transaction's memo of what it wrote (None: deleted or purged), or None
        where no memo is kept: outside a transaction, and inside a savepoint, whose
        rollback would leave the memo ahead of the database (a write there also drops
        the memo, so nothing it wrote is answered from memory afterwards)."""
        if self.session.in_nested_transaction():
            self.session.info.pop(_WRITTEN_KEY, None)
            return None
        written: dict[tuple[str, str], _Frozen | None] | None = transaction_memo(
            self.session, _WRITTEN_KEY, dict
        )
        return written

    def _remember(self, stored: StoredResource, text: str | None) -> None:
        written = self._written()
        if written is not None:
            key = (stored.resource_type, stored.id)
            written[key] = None if stored.deleted else (replace(stored, body=None), text)

    def _touched(self, res_types: set[str]) -> None:
        if not res_types.isdisjoint(CACHED_TYPES):
            directory_changed(self.session)

    def _head(self, res_type: str, res_id: str) -> ResourceHead | None:
        return self.session.execute(
            select(ResourceHead).where(
                ResourceHead.res_type == res_type, ResourceHead.res_id == res_id
            )
        ).scalar_one_or_none()

    def current_many(self, res_type: str, ids: Sequence[str]) -> list[StoredResource]:
        """The current versions of these resources of one type, in the order asked (one
        read; any not found, or deleted, is left out)."""
        return self._current_bodies([(res_type, res_id) for res_id in ids])

    def _current_bodies(self, keys: Sequence[tuple[str, str]]) -> list[StoredResource]:
        if not keys:
            return []
        res_type = keys[0][0]
        ids = [res_id for _, res_id in keys]
        rows = self.session.connection().execute(
            _CURRENT_VERSIONS, {"res_type": res_type, "ids": ids}
        )
        by_id = {row.res_id: self._stored(row) for row in rows}
        return [by_id[res_id] for res_id in ids if res_id in by_id]

    def _version_row(self, stored: StoredResource) -> dict[str, Any]:
        """The version's row; the body is serialised once, for the row (encrypted) and for
        this transaction's memo of what it wrote."""
        text = None if stored.body is None else _json(stored.body)
        self._remember(stored, text)
        return {
            "res_type": stored.resource_type,
            "res_id": stored.id,
            "version_id": stored.version_id,
            "last_updated": stored.last_updated,
            "deleted": stored.deleted,
            "method": stored.method,
            "body": None if text is None else self.protection.encrypt(text),
        }

    def _write_version(self, stored: StoredResource) -> None:
        self.session.execute(insert(_VERSIONS), [self._version_row(stored)])

    def _index_rows(self, res_type: str, res_id: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {
                "res_type": res_type,
                "res_id": res_id,
                "param": row.param,
                "system": row.system,
                "value": row.value,
                "date_start": row.date_start,
                "date_end": row.date_end,
            }
            for row in index_rows(body, blind=self.protection.blind)
        ]

    def _reindex(self, res_type: str, res_id: str, body: dict[str, Any]) -> None:
        self._replace_index(res_type, [res_id], self._index_rows(res_type, res_id, body))

    def rebuild_index(self, res_type: str, res_ids: Sequence[str]) -> int:
        """Derive the index rows of these resources anew from their current versions, none
        for a deleted one (``gateway.store.reindex``); returns how many rows were written.

        The directory memo is invalidated as by a write: it may hold what a search found
        under the old index."""
        self._touched({res_type})
        rows = [
            row
            for stored in self._current_bodies([(res_type, res_id) for res_id in res_ids])
            if stored.body is not None
            for row in self._index_rows(res_type, stored.id, stored.body)
        ]
        self._replace_index(res_type, res_ids, rows)
        return len(rows)

    def _replace_index(
        self, res_type: str, res_ids: Sequence[str], rows: list[dict[str, Any]]
    ) -> None:
        self.session.execute(
            delete(SearchIndexRow).where(
                SearchIndexRow.res_type == res_type, SearchIndexRow.res_id.in_(res_ids)
            )
        )
        insert_rows(self.session, _INDEX, rows)
