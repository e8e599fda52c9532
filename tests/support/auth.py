"""Registering test clients and getting real SMART Backend Services tokens for them."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from gateway.security.caller import PartyKind
from gateway.security.clients import ClientSpec, register

TOKEN_URL = "http://testserver/auth/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALL_SCOPES = ("system/*.cruds",)


@dataclass(frozen=True)
class TestClientIdentity:
    client_id: str
    key: ECKey | RSAKey
    kid: str
    alg: str

    def public_jwks(self) -> dict[str, Any]:
        return {"keys": [{**self.key.as_dict(private=False), "kid": self.kid, "alg": self.alg}]}


def new_identity(client_id: str | None = None, alg: str = "ES384") -> TestClientIdentity:
    key: ECKey | RSAKey = (
        ECKey.generate_key("P-384") if alg == "ES384" else RSAKey.generate_key(2048)
    )
    return TestClientIdentity(
        client_id or f"client-{uuid.uuid4().hex[:8]}", key, uuid.uuid4().hex[:8], alg
    )


def register_client(
    app: FastAPI,
    party: str,
    kind: PartyKind,
    scopes: tuple[str, ...] = ALL_SCOPES,
    identity: TestClientIdentity | None = None,
    **extra: Any,
) -> TestClientIdentity:
    identity = identity or new_identity()
    with app.state.session_factory() as session, session.begin():
        register(
            session,
            ClientSpec(
                client_id=identity.client_id,
                name=f"test {identity.client_id}",
                party=party,
                party_kind=kind,
                scopes=scopes,
                jwks=None
                if "jwks_uri" in extra or "cert_hsa_id" in extra
                else identity.public_jwks(),
                **extra,
            ),
        )
    return identity


def assertion(identity: TestClientIdentity, aud: str = TOKEN_URL, **overrides: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": identity.client_id,
        "sub": identity.client_id,
        "aud": aud,
        "exp": now + 240,
        "iat": now,
        "jti": uuid.uuid4().hex,
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    header = {"alg": identity.alg, "kid": identity.kid, "typ": "JWT"}
    return jwt.encode(header, claims, identity.key, algorithms=[identity.alg])


def token_response(http: TestClient, signed: str, scope: str = "system/*.cruds") -> Any:
    return http.post(
        "/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": signed,
            "scope": scope,
        },
    )


def bearer(
    http: TestClient, identity: TestClientIdentity, scope: str = "system/*.cruds"
) -> dict[str, str]:
    response = token_response(http, assertion(identity), scope)
    assert response.status_code == 200, response.text
    return {"authorization": f"Bearer {response.json()['access_token']}"}
