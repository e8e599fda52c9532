"""Verifying SMART Backend Services client assertions (``private_key_jwt``, RS384/ES384).

The checks, in order: the client exists and is enabled; the signature verifies against one
of its keys (registered JWKS, or its jwks_uri fetched and cached); iss = sub = client id;
aud is our token endpoint; exp is in the future and at most five minutes ahead; jti has not
been used before (kept until the assertion expires).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.capped_http import ResponseTooLargeError, send_capped
from gateway.security.clients import SIGNING_ALGORITHMS, find
from gateway.security.models import AuthClient, UsedAssertion

CLOCK_SKEW_SECONDS = 30
MAX_JWKS_BYTES = 64 * 1024


class AssertionRejectedError(ValueError):
    """The assertion does not authenticate the client. ``error`` is the OAuth error code."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass
class JwksCache:
    """Key sets fetched from clients' jwks_uri, kept for ``ttl`` seconds."""

    ttl: int
    timeout: float = 5.0
    _entries: dict[str, tuple[float, dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, uri: str, *, refresh: bool = False) -> dict[str, Any]:
        with self._lock:
            cached = self._entries.get(uri)
        if cached and not refresh and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        try:
            with httpx.Client(timeout=self.timeout, follow_redirects=False) as http:
                response = send_capped(
                    http,
                    "GET",
                    uri,
                    max_bytes=MAX_JWKS_BYTES,
                    headers={"accept": "application/json"},
                )
        except ResponseTooLargeError:
            raise AssertionRejectedError(
                "invalid_client", "the client's jwks_uri gave no usable key set"
            ) from None
        except httpx.HTTPError:
            raise AssertionRejectedError(
                "invalid_client", "the client's jwks_uri is unreachable"
            ) from None
        if response.status_code != 200:
            raise AssertionRejectedError(
                "invalid_client", "the client's jwks_uri gave no usable key set"
            )
        try:
            keys: dict[str, Any] = json.loads(response.content)
        except ValueError:
            raise AssertionRejectedError(
                "invalid_client", "the client's jwks_uri is not JSON"
            ) from None
        with self._lock:
            self._entries[uri] = (time.monotonic(), keys)
        return keys


def _unverified(assertion: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        compact = jws.extract_compact(assertion.encode())
        claims = json.loads(compact.payload)
    except (JoseError, ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: JSON nested deeper than the parser goes, in the header or the claims.
        raise AssertionRejectedError(
            "invalid_client", "client_assertion is not a compact JWT"
        ) from None
    if not isinstance(compact.protected, dict):
        raise AssertionRejectedError("invalid_client", "client_assertion header is not an object")
    if not isinstance(claims, dict):
        raise AssertionRejectedError("invalid_client", "client_assertion claims are not an object")
    return dict(compact.protected), claims


def _key_set(client: AuthClient, cache: JwksCache, kid: str | None) -> KeySet:
    if client.jwks is not None:
        raw: dict[str, Any] = json.loads(client.jwks)
    elif client.jwks_uri is not None:
        raw = cache.get(client.jwks_uri)
        if kid and kid not in {k.get("kid") for k in raw.get("keys", [])}:
            raw = cache.get(client.jwks_uri, refresh=True)  # the client may have rotated
    else:
        raise AssertionRejectedError("invalid_client", "the client has no registered keys")
    try:
        return KeySet.import_key_set(raw)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError):
        raise AssertionRejectedError(
            "invalid_client", "the client's key set cannot be read"
        ) from None


def _check_claims(claims: dict[str, Any], client_id: str, token_url: str, max_seconds: int) -> int:
    now = int(time.time())
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise AssertionRejectedError("invalid_client", "iss and sub must both be the client id")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if token_url not in audiences:
        raise AssertionRejectedError("invalid_client", "aud must be the token endpoint URL")
    exp = claims.get("exp")
    if not isinstance(exp, int):
        raise AssertionRejectedError("invalid_client", "exp is required")
    if exp <= now - CLOCK_SKEW_SECONDS:
        raise AssertionRejectedError("invalid_client", "the assertion has expired")
    if exp > now + max_seconds + CLOCK_SKEW_SECONDS:
        raise AssertionRejectedError("invalid_client", f"exp may be at most {max_seconds} s ahead")
    for name in ("iat", "nbf"):
        value = claims.get(name)
        if value is not None and (not isinstance(value, int) or value > now + CLOCK_SKEW_SECONDS):
            raise AssertionRejectedError("invalid_client", f"{name} lies in the future")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 255:
        raise AssertionRejectedError("invalid_client", "jti is required")
    return exp


def _remember_jti(session: Session, client_id: str, jti: str, exp: int) -> None:
    expires_at = datetime.fromtimestamp(exp, UTC)
    session.execute(delete(UsedAssertion).where(UsedAssertion.expires_at < datetime.now(UTC)))
    savepoint = session.begin_nested()
    try:
        session.add(UsedAssertion(client_id=client_id, jti=jti, expires_at=expires_at))
        session.flush()
        savepoint.commit()
    except IntegrityError:
        savepoint.rollback()
        raise AssertionRejectedError(
            "invalid_client", "this assertion (jti) was used before"
        ) from None


def authenticate_client(
    session: Session,
    assertion: str,
    *,
    token_url: str,
    cache: JwksCache,
    max_seconds: int,
) -> AuthClient:
    header, claims = _unverified(assertion)
    if header.get("alg") not in SIGNING_ALGORITHMS:
        raise AssertionRejectedError(
            "invalid_client", "the assertion must be signed with RS384 or ES384"
        )
    client_id = claims.get("iss")
    client = find(session, client_id) if isinstance(client_id, str) else None
    if client is None:
        raise AssertionRejectedError("invalid_client", "unknown client")
    if not client.enabled:
        raise AssertionRejectedError("invalid_client", "the client is disabled")
    kid = header.get("kid")
    keys = _key_set(client, cache, kid if isinstance(kid, str) else None)
    try:
        jwt.decode(assertion, keys, algorithms=list(SIGNING_ALGORITHMS))
    except (JoseError, ValueError):
        raise AssertionRejectedError(
            "invalid_client", "the assertion's signature does not verify"
        ) from None
    exp = _check_claims(claims, client.client_id, token_url, max_seconds)
    _remember_jti(session, client.client_id, str(claims["jti"]), exp)
    return client
