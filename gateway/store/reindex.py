"""Rebuild the search index from the stored resources, in small batches, while serving.

Index rows are derived from each resource's current version, so they need rebuilding
when what derives them changes: a release that adds or changes a search parameter, or a
new blind-index key (``KVGW_BLIND_INDEX_KEY``), under which every identifier indexes to
a different value. Until a resource is reindexed, searches on what changed miss it.

Each batch is one short transaction that locks the heads of its resources (``FOR
UPDATE`` on PostgreSQL; SQLite has one writer anyway), so an update of one of them waits
for the batch and then writes its own rows: the index never ends up describing an older
version. The resources are walked in (type, id) order, so an interrupted run can simply
be started again. Resources created meanwhile are indexed by the code that creates them.
A run that reaches the end marks its types' index as built by the running code
(``gateway.store.index_marks``); run it once every process of the release before has
stopped, or one of them may still write rows of the old kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select, true, tuple_
from sqlalchemy.orm import Session, sessionmaker

from gateway.search.parameters import SEARCH_PARAMETERS
from gateway.store.index_marks import mark_current, stale_types
from gateway.store.models import ResourceHead
from gateway.store.resources import ResourceStore


@dataclass(frozen=True)
class ReindexReport:
    resources: int
    rows: int


def _of_type(res_type: str | None) -> ColumnElement[bool]:
    return ResourceHead.res_type == res_type if res_type else true()


def count_resources(sessions: sessionmaker[Session], res_type: str | None = None) -> int:
    """How many resources (deleted ones too) a run over ``res_type`` (all if None) walks."""
    with sessions() as session:
        return int(
            session.execute(
                select(func.count()).select_from(ResourceHead).where(_of_type(res_type))
            ).scalar_one()
        )


def reindex(
    sessions: sessionmaker[Session],
    *,
    res_type: str | None = None,
    batch_size: int = 500,
    progress: Callable[[int], None] = lambda _n: None,
) -> ReindexReport:
    """Rebuild the index rows of every resource of ``res_type`` (all types if None), and
    mark the index of the type (of every type) current when the walk reaches the end."""
    after: tuple[str, str] | None = None
    resources = rows = 0
    while True:
        with sessions() as session, session.begin():
            query = (
                select(ResourceHead.res_type, ResourceHead.res_id)
                .where(_of_type(res_type))
                .order_by(ResourceHead.res_type, ResourceHead.res_id)
                .limit(batch_size)
                .with_for_update()
            )
            if after is not None:
                query = query.where(tuple_(ResourceHead.res_type, ResourceHead.res_id) > after)
            heads = [(str(t), str(i)) for t, i in session.execute(query).all()]
            store = ResourceStore(session)
            by_type: dict[str, list[str]] = {}
            for head_type, head_id in heads:
                by_type.setdefault(head_type, []).append(head_id)
            for head_type, ids in by_type.items():
                rows += store.rebuild_index(head_type, ids)
        resources += len(heads)
        progress(len(heads))
        if len(heads) < batch_size:
            break
        after = heads[-1]
    with sessions() as session, session.begin():
        mark_current(session, [res_type] if res_type else SEARCH_PARAMETERS)
    return ReindexReport(resources, rows)


def stale(sessions: sessionmaker[Session]) -> list[str]:
    """The types whose index the running code did not build (``index_marks.stale_types``)."""
    with sessions() as session, session.begin():
        return stale_types(session)
