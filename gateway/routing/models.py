"""SQL tables of routing: the local listing register, the routing table and the
authorisation table. Created only by migration ``0002_routing``.

``listing_entry`` is keyed by a keyed hash (HMAC-SHA256) of the person identifier: the
raw personnummer is never stored, so neither the table nor its index can be read back
into identities without the key.
"""

from __future__ import annotations

import datetime

from sqlalchemy import Boolean, Date, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.store.models import AutoId, Base, UTCDateTime


class ListingEntry(Base):
    """One listing of one person at one care unit, from a file a region pushed."""

    __tablename__ = "listing_entry"

    row_id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    person_key: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    hsa_id: Mapped[str] = mapped_column(String(64), nullable=False)
    lanskod: Mapped[str] = mapped_column(String(2), nullable=False)
    listing_type: Mapped[str] = mapped_column(String(16), nullable=False)
    valid_from: Mapped[datetime.date] = mapped_column(Date, nullable=False)
    valid_to: Mapped[datetime.date | None] = mapped_column(Date, nullable=True)
    protected_identity: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    __table_args__ = (
        # The natural key: re-importing the same file changes nothing. Its leading column
        # is the lookup key, so it also serves every lookup.
        UniqueConstraint(
            "person_key",
            "hsa_id",
            "listing_type",
            "valid_from",
            name="uq_listing_entry_natural_key",
        ),
    )


class RouteEntry(Base):
    """Vägval: (service contract, logical address = HSA-id) -> Endpoint, for a period."""

    __tablename__ = "routing_route"

    row_id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    service_contract: Mapped[str] = mapped_column(String(255), nullable=False)
    logical_address: Mapped[str] = mapped_column(String(64), nullable=False)
    endpoint_id: Mapped[str] = mapped_column(String(64), nullable=False)
    valid_from: Mapped[datetime.datetime] = mapped_column(UTCDateTime(), nullable=False)
    valid_to: Mapped[datetime.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_routing_route_lookup", "service_contract", "logical_address"),)


class AuthorisationEntry(Base):
    """Anropsbehörighet: consumer may call service contract at logical address, for a period."""

    __tablename__ = "routing_authorisation"

    row_id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    consumer: Mapped[str] = mapped_column(String(128), nullable=False)
    service_contract: Mapped[str] = mapped_column(String(255), nullable=False)
    logical_address: Mapped[str] = mapped_column(String(64), nullable=False)
    valid_from: Mapped[datetime.datetime] = mapped_column(UTCDateTime(), nullable=False)
    valid_to: Mapped[datetime.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        Index("ix_routing_authorisation_lookup", "consumer", "service_contract", "logical_address"),
    )
