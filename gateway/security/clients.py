"""The registry of client systems: who they are, which party they act for, what they may do."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from joserfc.jwk import KeySet
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from gateway.security.caller import PartyKind
from gateway.security.models import AuthClient
from gateway.security.scopes import parse_scope
from gateway.store.resources import utc_now

SIGNING_ALGORITHMS = ("RS384", "ES384")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$")
_PARTY = re.compile(r"^Organization/[A-Za-z0-9\-.]{1,64}$")


class ClientRegistrationError(ValueError):
    pass


@dataclass(frozen=True)
class ClientSpec:
    client_id: str
    name: str
    party: str
    party_kind: PartyKind
    scopes: tuple[str, ...]
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    cert_hsa_id: str | None = None


def _check(spec: ClientSpec) -> None:
    if not _CLIENT_ID.match(spec.client_id):
        raise ClientRegistrationError("client id: letters, digits, '.', '_' or '-', at most 128")
    if not _PARTY.match(spec.party):
        raise ClientRegistrationError(
            "party must be an Organization reference, e.g. Organization/kommun-0180"
        )
    bad = [s for s in spec.scopes if parse_scope(s) is None]
    if bad or not spec.scopes:
        raise ClientRegistrationError(f"not SMART system scopes: {' '.join(bad) or '(none given)'}")
    if spec.jwks is None and spec.jwks_uri is None and spec.cert_hsa_id is None:
        raise ClientRegistrationError("give a JWKS, a jwks_uri or a certificate HSA-id")
    if spec.jwks_uri is not None and not spec.jwks_uri.startswith(
        ("https://", "http://127.0.0.1", "http://localhost")
    ):
        raise ClientRegistrationError("jwks_uri must use https")
    if spec.jwks is not None:
        try:
            keys = KeySet.import_key_set(spec.jwks)  # type: ignore[arg-type]
        except Exception as error:  # joserfc raises several types for bad key material
            raise ClientRegistrationError(f"the JWKS cannot be read: {error}") from None
        if any(k.is_private for k in keys.keys):
            raise ClientRegistrationError("the JWKS holds a private key; register public keys only")
        if any(not k.kid for k in keys.keys):
            raise ClientRegistrationError("every key in the JWKS needs a kid")


def register(session: Session, spec: ClientSpec) -> AuthClient:
    _check(spec)
    if session.get(AuthClient, spec.client_id) is not None:
        raise ClientRegistrationError(f"client {spec.client_id!r} is already registered")
    client = AuthClient(
        client_id=spec.client_id,
        name=spec.name,
        party=spec.party,
        party_kind=spec.party_kind.value,
        scopes=" ".join(spec.scopes),
        jwks=json.dumps(spec.jwks) if spec.jwks is not None else None,
        jwks_uri=spec.jwks_uri,
        cert_hsa_id=spec.cert_hsa_id,
        enabled=True,
        created_at=utc_now(),
    )
    session.add(client)
    session.flush()
    return client


def find(session: Session, client_id: str) -> AuthClient | None:
    return session.get(AuthClient, client_id)


_ENABLED = select(AuthClient.enabled).where(AuthClient.client_id == bindparam("client_id"))


def is_enabled(connection: Connection, client_id: str) -> bool:
    """Whether the client is registered and enabled: the check of every API call, one
    column through a plain connection (no ORM object, no session)."""
    return connection.execute(_ENABLED, {"client_id": client_id}).scalar() is True


def find_by_certificate(session: Session, hsa_id: str) -> AuthClient | None:
    return session.execute(
        select(AuthClient).where(AuthClient.cert_hsa_id == hsa_id)
    ).scalar_one_or_none()


def all_clients(session: Session) -> list[AuthClient]:
    return list(session.scalars(select(AuthClient).order_by(AuthClient.client_id)))


def set_enabled(session: Session, client_id: str, enabled: bool) -> AuthClient:
    client = session.get(AuthClient, client_id)
    if client is None:
        raise ClientRegistrationError(f"no client {client_id!r}")
    client.enabled = enabled
    return client
