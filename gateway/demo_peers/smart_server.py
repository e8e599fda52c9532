"""A small SMART Backend Services authorisation server for a demo journal system.

It knows its clients by their public JWKS, verifies each ``private_key_jwt`` client
assertion (signature with RS384 or ES384 against the client's keys, iss = sub = client id,
aud = this token endpoint, exp in the future and at most five minutes ahead, a jti never
seen before), and issues opaque access tokens that its FHIR side checks on every call.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ["RS384", "ES384"]
MAX_ASSERTION_SECONDS = 300
CLOCK_SKEW_SECONDS = 30


class TokenRefused(Exception):  # noqa: N818 - an OAuth error answer, not a program error
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass(frozen=True)
class Grant:
    client_id: str
    scope: str
    expires_at: float


@dataclass
class AuthorisationServer:
    token_seconds: int = 300
    clients: dict[str, dict[str, Any]] = field(default_factory=dict)  # client id -> JWKS
    tokens: dict[str, Grant] = field(default_factory=dict)
    used_jti: dict[str, float] = field(default_factory=dict)
    issued: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def register(self, client_id: str, public_jwks: dict[str, Any]) -> None:
        with self.lock:
            self.clients[client_id] = public_jwks

    def revoke_all(self) -> None:
        with self.lock:
            self.tokens.clear()

    def issue(self, form: dict[str, str], token_url: str) -> dict[str, Any]:
        """The token endpoint: client_credentials with a client assertion."""
        if form.get("grant_type") != "client_credentials":
            raise TokenRefused("unsupported_grant_type", "only client_credentials")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise TokenRefused("invalid_client", "client_assertion_type must be jwt-bearer")
        client_id, claims = self._verify(form.get("client_assertion", ""), token_url)
        token = secrets.token_urlsafe(32)
        scope = form.get("scope") or "system/*.read"
        with self.lock:
            self.tokens[token] = Grant(client_id, scope, time.time() + self.token_seconds)
            self.used_jti[str(claims["jti"])] = float(claims["exp"])
            self.issued += 1
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": self.token_seconds,
            "scope": scope,
        }

    def check(self, authorization: str | None) -> Grant | None:
        """The grant behind a bearer token, None if the token is missing, unknown or expired."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        with self.lock:
            grant = self.tokens.get(token.strip())
        if grant is None or grant.expires_at <= time.time():
            return None
        return grant

    def _verify(self, assertion: str, token_url: str) -> tuple[str, dict[str, Any]]:
        try:
            compact = jws.extract_compact(assertion.encode())
            unverified = json.loads(compact.payload)
        except (JoseError, ValueError, UnicodeDecodeError):
            raise TokenRefused("invalid_client", "client_assertion is not a JWT") from None
        client_id = str(unverified.get("iss", "")) if isinstance(unverified, dict) else ""
        with self.lock:
            jwks = self.clients.get(client_id)
        if jwks is None:
            raise TokenRefused("invalid_client", "unknown client", 401)
        try:
            token = jwt.decode(assertion, KeySet.import_key_set(jwks), algorithms=ALGORITHMS)  # type: ignore[arg-type]
        except (JoseError, ValueError):
            raise TokenRefused("invalid_client", "the signature does not verify", 401) from None
        claims = dict(token.claims)
        now = time.time()
        audiences = (
            claims.get("aud") if isinstance(claims.get("aud"), list) else [claims.get("aud")]
        )
        if claims.get("sub") != client_id:
            raise TokenRefused("invalid_client", "iss and sub must both be the client id")
        if token_url not in (audiences or []):
            raise TokenRefused("invalid_client", "aud must be this token endpoint")
        exp = claims.get("exp")
        if not isinstance(exp, int) or exp < now - CLOCK_SKEW_SECONDS:
            raise TokenRefused("invalid_client", "the assertion has expired")
        if exp > now + MAX_ASSERTION_SECONDS + CLOCK_SKEW_SECONDS:
            raise TokenRefused("invalid_client", "exp is more than five minutes ahead")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise TokenRefused("invalid_client", "jti is required")
        with self.lock:
            self.used_jti = {k: v for k, v in self.used_jti.items() if v > now - CLOCK_SKEW_SECONDS}
            if jti in self.used_jti:
                raise TokenRefused("invalid_client", "the assertion was used before")
        return client_id, claims

    def smart_configuration(self, token_url: str) -> dict[str, Any]:
        return {
            "token_endpoint": token_url,
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ALGORITHMS,
            "scopes_supported": ["system/*.read", "system/Task.cru", "system/Bundle.c"],
            "capabilities": ["client-confidential-asymmetric"],
        }
