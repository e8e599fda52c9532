"""The gateway's own access tokens: short-lived JWTs (HS256) that only the gateway verifies."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from gateway.settings import Settings

ALGORITHM = "HS256"


@dataclass(frozen=True)
class AccessToken:
    client_id: str
    party: str
    party_kind: str
    scopes: tuple[str, ...]
    expires_at: int


class InvalidAccessTokenError(ValueError):
    pass


def _key(settings: Settings) -> OctKey:
    return OctKey.import_key(settings.token_secret.get_secret_value().encode())


def issue(
    settings: Settings, client_id: str, party: str, party_kind: str, scopes: list[str]
) -> tuple[str, int]:
    now = int(time.time())
    lifetime = settings.access_token_seconds
    claims = {
        "iss": settings.fhir_base_url,
        "aud": settings.fhir_base_url,
        "sub": client_id,
        "iat": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
        "scope": " ".join(scopes),
        "party": party,
        "party_kind": party_kind,
    }
    token = jwt.encode(
        {"alg": ALGORITHM, "typ": "at+jwt"}, claims, _key(settings), algorithms=[ALGORITHM]
    )
    return token, lifetime


def verify(settings: Settings, token: str) -> AccessToken:
    try:
        decoded = jwt.decode(token, _key(settings), algorithms=[ALGORITHM])
    except (JoseError, ValueError):
        raise InvalidAccessTokenError("signature or format invalid") from None
    claims = decoded.claims
    now = int(time.time())
    try:
        expires_at = int(claims["exp"])
        if expires_at <= now:
            raise InvalidAccessTokenError("expired")
        if (
            claims.get("aud") != settings.fhir_base_url
            or claims.get("iss") != settings.fhir_base_url
        ):
            raise InvalidAccessTokenError("not issued for this gateway")
        return AccessToken(
            client_id=str(claims["sub"]),
            party=str(claims["party"]),
            party_kind=str(claims["party_kind"]),
            scopes=tuple(str(claims["scope"]).split()),
            expires_at=expires_at,
        )
    except (KeyError, TypeError):
        raise InvalidAccessTokenError("claims missing") from None
