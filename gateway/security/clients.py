"""The registry of client systems: who they are, which party they act for, what they may do."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from joserfc.jwk import KeySet
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.canonical import CS_ORGANIZATION_TYPE
from gateway.resources.urls import UrlRefusedError, http_url, is_loopback_host
from gateway.security.caller import PartyKind
from gateway.security.models import AuthClient
from gateway.security.scopes import parse_scope
from gateway.settings import Environment, get_settings
from gateway.store.resources import ResourceStore, utc_now
from gateway.validation.identifiers import check_hsa_id

SIGNING_ALGORITHMS = ("RS384", "ES384")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$")
_PARTY = re.compile(r"^Organization/[A-Za-z0-9\-.]{1,64}$")
JWKS_URI_MAX_LENGTH = 512  # auth_client.jwks_uri
_HSA_ID_FORM = (
    "SE, a 10- or 12-digit organisationsnummer, '-' and letters A-Z or digits, "
    "at most 31 characters"
)

# The parties that are Organizations of the directory, by the Organization type
# (CS_ORGANIZATION_TYPE) that records each. The other kinds (operator, auditor, test
# harness) are the gateway's own parties and need no directory entry.
KIND_OF_ORGANIZATION_TYPE = {
    "kommun-socialtjanst": PartyKind.KOMMUN,
    "region": PartyKind.REGION,
    "vardcentral": PartyKind.VARDCENTRAL,
}
DIRECTORY_PARTY_KINDS = frozenset(KIND_OF_ORGANIZATION_TYPE.values())


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


def jwks_uri_problem(uri: str, *, loopback_http: bool) -> str | None:
    """Why the gateway may not fetch a client's key set from ``uri``, or None.

    The keys decide who the client is, so they come over ``https``; plain ``http`` only
    to this host itself (``localhost`` or a loopback literal), and only when
    ``loopback_http`` (development). No user information (``http://127.0.0.1@host/``).
    Unlike a Subscription's target, a private address is allowed: a client's key set
    may well be published on an internal network."""
    if len(uri) > JWKS_URI_MAX_LENGTH:
        return f"jwks_uri is longer than {JWKS_URI_MAX_LENGTH} characters"
    try:
        parts = http_url(uri)
    except UrlRefusedError as refused:
        return f"jwks_uri {refused}"
    if parts.scheme == "http":
        if not is_loopback_host(parts.hostname or ""):
            return (
                "jwks_uri must use https (http only to this host: localhost, 127.0.0.1 or "
                "::1, in development)"
            )
        if not loopback_http:
            return "jwks_uri must use https (http to this host only in development)"
    return None


def _check(spec: ClientSpec, *, loopback_http: bool | None) -> None:
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
    if spec.jwks_uri is not None:
        if loopback_http is None:
            loopback_http = get_settings().environment is Environment.DEVELOPMENT
        problem = jwks_uri_problem(spec.jwks_uri, loopback_http=loopback_http)
        if problem is not None:
            raise ClientRegistrationError(problem)
    if spec.cert_hsa_id is not None:
        hsa_problem = check_hsa_id(spec.cert_hsa_id)
        if hsa_problem is not None:
            raise ClientRegistrationError(
                f"the certificate HSA-id is not an HSA-id ({hsa_problem.code}): {_HSA_ID_FORM}"
            )
    if spec.jwks is not None:
        try:
            keys = KeySet.import_key_set(spec.jwks)  # type: ignore[arg-type]
        except Exception as error:  # joserfc raises several types for bad key material
            raise ClientRegistrationError(f"the JWKS cannot be read: {error}") from None
        if any(k.is_private for k in keys.keys):
            raise ClientRegistrationError("the JWKS holds a private key; register public keys only")
        if any(not k.kid for k in keys.keys):
            raise ClientRegistrationError("every key in the JWKS needs a kid")


def register(
    session: Session,
    spec: ClientSpec,
    *,
    loopback_http: bool | None = None,
    check_directory: bool = False,
) -> AuthClient:
    """Register the client. ``loopback_http``: whether a jwks_uri may be plain http to
    this host; by default, whether the settings' environment is development.
    ``check_directory``: whether the party must be backed by the directory
    (:func:`check_party`), as an operator registering a client expects."""
    _check(spec, loopback_http=loopback_http)
    if check_directory:
        check_party(session, spec)
    if session.get(AuthClient, spec.client_id) is not None:
        raise ClientRegistrationError(f"client {spec.client_id!r} is already registered")
    if spec.cert_hsa_id is not None:
        holder = find_by_certificate(session, spec.cert_hsa_id)
        if holder is not None:
            raise ClientRegistrationError(
                f"the certificate HSA-id {spec.cert_hsa_id} is already registered, for "
                f"client {holder.client_id!r}"
            )
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
    try:
        session.flush()
    except IntegrityError:  # registered at the same moment by someone else
        raise ClientRegistrationError(
            f"client {spec.client_id!r} or its certificate HSA-id was registered meanwhile"
        ) from None
    return client


def _organization_types(body: dict[str, Any]) -> set[str]:
    return {
        str(coding.get("code"))
        for concept in body.get("type") or []
        for coding in (concept.get("coding") or [] if isinstance(concept, dict) else [])
        if isinstance(coding, dict) and coding.get("system") == CS_ORGANIZATION_TYPE
    }


def check_party(session: Session, spec: ClientSpec) -> None:
    """Refuse a party the directory does not back: a kommun, region or vårdcentral client
    acts for an active Organization of the directory, and no client's kind contradicts the
    type the directory records for its Organization (a kommun's Organization is no
    operator, nor a vårdcentral). The gateway's own parties (operator, auditor, test
    harness) need no directory entry, and an Organization with no recorded type any kind."""
    if not _PARTY.match(spec.party):
        raise ClientRegistrationError(
            "party must be an Organization reference, e.g. Organization/kommun-0180"
        )
    kind = spec.party_kind
    stored = ResourceStore(session).current("Organization", spec.party.split("/", 1)[1])
    body = stored.body if stored is not None else None
    if body is None:
        if kind in DIRECTORY_PARTY_KINDS:
            raise ClientRegistrationError(
                f"party {spec.party} is not in the directory: a {kind.value} client acts "
                "for one of its Organizations (load the directory first: kv-gateway directory "
                "seed-reference, or directory import)"
            )
        return
    if kind in DIRECTORY_PARTY_KINDS and body.get("active") is False:
        raise ClientRegistrationError(f"party {spec.party} is inactive in the directory")
    types = sorted(t for t in _organization_types(body) if t in KIND_OF_ORGANIZATION_TYPE)
    if types and kind not in {KIND_OF_ORGANIZATION_TYPE[t] for t in types}:
        raise ClientRegistrationError(
            f"party {spec.party} is typed {', '.join(types)} in the directory: its clients "
            f"are of kind {', '.join(KIND_OF_ORGANIZATION_TYPE[t].value for t in types)}, "
            f"not {kind.value}"
        )


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
