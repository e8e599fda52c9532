"""Which resource types' search index was built by the code and key running now.

Index rows are derived from a resource when it is written, so they describe the release
and the blind-index key that wrote it. Each resource type has a mark: the fingerprint of
what built its whole index (the row format, the type's declared parameters, and for a
type with blind-indexed identifiers the key). A release that changes any of these, or a
new ``KVGW_BLIND_INDEX_KEY``, changes the fingerprint, and the type's index is *stale*
until ``kv-gateway db reindex`` has walked it to the end and marked it anew. Meanwhile
searches on what changed may miss resources written before.

A type that holds no resources is current by definition and is marked so when checked.
A store that was empty when marks began (migration 0012's row ``*``) was indexed only by
code that keeps marks, so its first check marks every type with the running code's
fingerprint. The serving processes check at start-up and warn; ``kv-gateway db current``
tells.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from gateway.search.index import INDEX_FORMAT
from gateway.search.parameters import SEARCH_PARAMETERS
from gateway.store.models import ResourceHead, SearchIndexMark
from gateway.store.protection import protection_of
from gateway.store.resources import utc_now
from gateway.store.upsert import upsert_into

EMPTY_AT_START = "*"
# What the blind-index key is fingerprinted by: its keyed hash of this constant, which
# tells keys apart and reveals nothing of them.
_KEY_PROBE = "kv-gateway search index mark"


def fingerprint(session: Session, resource_type: str) -> str:
    """What the index rows of ``resource_type`` are derived with now."""
    parameters = SEARCH_PARAMETERS.get(resource_type, {})
    blind = any(p.blind for p in parameters.values())
    described = {
        "format": INDEX_FORMAT,
        "parameters": sorted(
            [p.name, p.type.value, p.expression, sorted(p.targets), p.blind]
            for p in parameters.values()
        ),
        "key": protection_of(session).blind(_KEY_PROBE) if blind else None,
    }
    text = json.dumps(described, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def mark_current(session: Session, resource_types: Iterable[str]) -> None:
    """Record that the index of these types was just built by the running code."""
    now = utc_now()
    for resource_type in resource_types:
        mark = fingerprint(session, resource_type)
        statement = upsert_into(session, SearchIndexMark).values(
            res_type=resource_type, fingerprint=mark, marked_at=now
        )
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["res_type"],
                set_={"fingerprint": mark, "marked_at": now},
            )
        )


def stale_types(session: Session) -> list[str]:
    """The types whose index the running code did not build, in name order. Marks on
    the way every type it can vouch for: one holding no resources, and every one on a
    store that was empty when marks began."""
    rows = session.execute(select(SearchIndexMark.res_type, SearchIndexMark.fingerprint))
    marks = {res_type: mark for res_type, mark in rows}
    empty_at_start = EMPTY_AT_START in marks
    stale: list[str] = []
    vouched: list[str] = []
    for resource_type in sorted(SEARCH_PARAMETERS):
        if marks.get(resource_type) == fingerprint(session, resource_type):
            continue
        if (empty_at_start and resource_type not in marks) or not _holds_resources(
            session, resource_type
        ):
            vouched.append(resource_type)
        else:
            stale.append(resource_type)
    mark_current(session, vouched)
    if empty_at_start:
        session.execute(delete(SearchIndexMark).where(SearchIndexMark.res_type == EMPTY_AT_START))
    return stale


def _holds_resources(session: Session, resource_type: str) -> bool:
    found = session.execute(
        select(ResourceHead.res_id).where(ResourceHead.res_type == resource_type).limit(1)
    )
    return found.first() is not None
