"""Re-encrypt stored bodies under the active key, in small batches, while the gateway runs."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import ColumnElement, and_, func, not_, select, update
from sqlalchemy.orm import Session, sessionmaker

from gateway.security.protection import PREFIX, DataProtection
from gateway.store.models import ResourceVersion


def _stale(protection: DataProtection) -> ColumnElement[bool]:
    return and_(
        ResourceVersion.body.is_not(None),
        not_(ResourceVersion.body.startswith(f"{PREFIX}{protection.active_kid}:")),
    )


def count_stale(sessions: sessionmaker[Session], protection: DataProtection) -> int:
    with sessions() as session:
        return int(
            session.execute(
                select(func.count()).select_from(ResourceVersion).where(_stale(protection))
            ).scalar_one()
        )


def rotate(
    sessions: sessionmaker[Session],
    protection: DataProtection,
    *,
    batch_size: int = 500,
    progress: Callable[[int], None] = lambda _n: None,
) -> int:
    """Re-encrypt every body not under the active key; returns how many were rewritten.

    Each batch is its own short transaction, so API traffic continues between batches, and
    an interrupted rotation resumes where it stopped when run again.
    """
    done = 0
    while True:
        with sessions() as session, session.begin():
            rows = session.execute(
                select(
                    ResourceVersion.res_type,
                    ResourceVersion.res_id,
                    ResourceVersion.version_id,
                    ResourceVersion.body,
                )
                .where(_stale(protection))
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            for res_type, res_id, version_id, body in rows:
                if body is None:
                    continue
                session.execute(
                    update(ResourceVersion)
                    .where(
                        ResourceVersion.res_type == res_type,
                        ResourceVersion.res_id == res_id,
                        ResourceVersion.version_id == version_id,
                    )
                    .values(body=protection.encrypt(protection.decrypt(body)))
                )
        done += len(rows)
        progress(len(rows))
        if len(rows) < batch_size:
            return done
