"""Tables of the security layer: registered clients, used assertion ids, resource parties,
and the audit hash chain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.store.models import AutoId, Base, UTCDateTime


class AuthClient(Base):
    """A system registered to call the gateway, bound to one party."""

    __tablename__ = "auth_client"

    client_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    party: Mapped[str] = mapped_column(String(128), nullable=False)
    party_kind: Mapped[str] = mapped_column(String(32), nullable=False)
    scopes: Mapped[str] = mapped_column(Text, nullable=False)
    jwks: Mapped[str | None] = mapped_column(Text, nullable=True)
    jwks_uri: Mapped[str | None] = mapped_column(String(512), nullable=True)
    cert_hsa_id: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class UsedAssertion(Base):
    """A client assertion's jti, kept until the assertion expires, so a replay is refused."""

    __tablename__ = "auth_used_assertion"

    client_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    jti: Mapped[str] = mapped_column(String(255), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class ResourceParty(Base):
    """A party (kommun, vårdcentral, …) that may see a resource."""

    __tablename__ = "resource_party"

    res_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    res_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    party: Mapped[str] = mapped_column(String(128), primary_key=True)

    __table_args__ = (Index("ix_resource_party_party", "party", "res_type"),)


class AuditChainLink(Base):
    """One link of the audit hash chain: HMAC(previous hash || the AuditEvent as stored)."""

    __tablename__ = "audit_chain"

    seq: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)
    recorded: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    key_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)


class AuditChainWaiting(Base):
    """An AuditEvent stored while another transaction held the chain (PostgreSQL): it is
    linked, in this table's order, by the next transaction that gets the chain."""

    __tablename__ = "audit_chain_waiting"

    seq: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
