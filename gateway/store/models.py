"""SQLAlchemy models of the versioned FHIR resource store.

``fhir_resource`` holds one row per logical resource: its current version and whether it
is deleted. ``fhir_resource_version`` keeps every version's body. ``fhir_search_index``
holds the search-parameter values of each current version, refilled on every write;
``fhir_search_index_mark`` says which code built each type's index.
The Alembic migrations are the only way these tables are created.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    DateTime,
    ForeignKeyConstraint,
    FromClause,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC on every backend; hands back aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


AutoId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def table_of(model: type[Base]) -> Table:
    """A model's Table, for Core multi-row inserts (one statement for any number of rows)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def same_version(left: FromClause, right: FromClause) -> ColumnElement[bool]:
    """The join condition of two row sources that each name one version of a resource
    (a head and its version, a page of heads and the versions it reads)."""
    return (
        (left.c.res_type == right.c.res_type)
        & (left.c.res_id == right.c.res_id)
        & (left.c.version_id == right.c.version_id)
    )


class ResourceHead(Base):
    __tablename__ = "fhir_resource"

    res_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    res_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version_id: Mapped[int] = mapped_column(Integer, nullable=False)
    last_updated: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    __table_args__ = (Index("ix_fhir_resource_type_updated", "res_type", "last_updated"),)


class ResourceVersion(Base):
    __tablename__ = "fhir_resource_version"

    res_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    res_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_updated: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    method: Mapped[str] = mapped_column(String(8), nullable=False)
    body: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        ForeignKeyConstraint(
            ["res_type", "res_id"],
            ["fhir_resource.res_type", "fhir_resource.res_id"],
            ondelete="CASCADE",
        ),
        Index("ix_fhir_resource_version_type_updated", "res_type", "last_updated"),
    )


class SearchIndexRow(Base):
    __tablename__ = "fhir_search_index"

    row_id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    res_type: Mapped[str] = mapped_column(String(64), nullable=False)
    res_id: Mapped[str] = mapped_column(String(64), nullable=False)
    param: Mapped[str] = mapped_column(String(64), nullable=False)
    system: Mapped[str | None] = mapped_column(String(255), nullable=True)
    value: Mapped[str | None] = mapped_column(String(512), nullable=True)
    # Naive UTC: index ranges run from year 1 to 9999, past what aware datetimes allow.
    date_start: Mapped[datetime | None] = mapped_column(DateTime(), nullable=True)
    date_end: Mapped[datetime | None] = mapped_column(DateTime(), nullable=True)

    # No foreign key to fhir_resource: the store writes and purges these derived rows
    # with their head, and the per-row check cost more than the insert itself (0008).
    __table_args__ = (
        # Partial: a row holds a value or a date range, never both, so each index holds
        # only its own rows, and a value search cannot be planned on the date index.
        Index(
            "ix_fhir_search_index_value",
            "res_type",
            "param",
            "value",
            postgresql_where=text("value IS NOT NULL"),
            sqlite_where=text("value IS NOT NULL"),
        ),
        Index(
            "ix_fhir_search_index_date",
            "res_type",
            "param",
            "date_start",
            "date_end",
            postgresql_where=text("date_start IS NOT NULL"),
            sqlite_where=text("date_start IS NOT NULL"),
        ),
        Index("ix_fhir_search_index_resource", "res_type", "res_id"),
    )


class SearchIndexMark(Base):
    """Per resource type, the fingerprint of the code and key that built its whole index
    (see ``gateway.store.index_marks``). The row ``*`` with no fingerprint says the store
    was empty when marks began."""

    __tablename__ = "fhir_search_index_mark"

    res_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class DirectoryGeneration(Base):
    """One row: a random token replaced by every directory write (see directory_cache)."""

    __tablename__ = "directory_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    token: Mapped[str] = mapped_column(String(32), nullable=False)


# Tables defined next to the code that owns them share this metadata (and so the
# migrations' model-parity check and the test truncation).
import gateway.delivery.models  # noqa: E402
import gateway.routing.models  # noqa: E402
import gateway.security.models  # noqa: E402
import gateway.web.inbox.models  # noqa: E402, F401
