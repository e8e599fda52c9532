"""SMART Backend Services: every rule of the token endpoint and of bearer tokens."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import OctKey
from sqlalchemy import select
from starlette.responses import StreamingResponse

from gateway.api.smart import MAX_FORM_BYTES
from gateway.security.assertions import MAX_JWKS_BYTES
from gateway.security.caller import PartyKind
from gateway.security.clients import set_enabled
from gateway.security.models import AuditChainLink
from gateway.settings import DEV_TOKEN_SECRET
from gateway.store.resources import ResourceStore
from tests.support.auth import (
    ASSERTION_TYPE,
    TestClientIdentity,
    assertion,
    bearer,
    new_identity,
    register_client,
    token_response,
)
from tests.support.live_server import serve

KOMMUN = "Organization/kommun-0180"


def _error(response: Any, status: int, error: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    description: str = body["error_description"]
    return description


def test_discovery_documents(anonymous: TestClient) -> None:
    for path in ("/.well-known/smart-configuration", "/fhir/.well-known/smart-configuration"):
        config = anonymous.get(path).json()
        assert config["token_endpoint"] == "http://testserver/auth/token"
        assert config["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
        assert set(config["token_endpoint_auth_signing_alg_values_supported"]) == {"RS384", "ES384"}
        assert "client-confidential-asymmetric" in config["capabilities"]


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_valid_assertion_gets_a_short_lived_token_that_works(
    app: FastAPI, anonymous: TestClient, alg: str
) -> None:
    identity = register_client(
        app, KOMMUN, PartyKind.KOMMUN, ("system/Patient.crs",), new_identity(alg=alg)
    )
    response = token_response(anonymous, assertion(identity), "system/Patient.rs")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert 0 < body["expires_in"] <= 300
    assert body["scope"] == "system/Patient.rs"
    assert "refresh_token" not in body
    headers = {"authorization": f"Bearer {body['access_token']}"}
    assert anonymous.get("/fhir/Patient", headers=headers).status_code == 200


def test_wrong_signature_is_refused(app: FastAPI, anonymous: TestClient) -> None:
    identity = register_client(app, KOMMUN, PartyKind.KOMMUN)
    impostor = new_identity(identity.client_id)  # same id and kid shape, another key
    forged = assertion(impostor.__class__(identity.client_id, impostor.key, identity.kid, "ES384"))
    assert "signature" in _error(token_response(anonymous, forged), 401, "invalid_client")


def test_expired_assertion_is_refused(app: FastAPI, anonymous: TestClient) -> None:
    identity = register_client(app, KOMMUN, PartyKind.KOMMUN)
    expired = assertion(identity, exp=int(time.time()) - 120)
    assert "expired" in _error(token_response(anonymous, expired), 401, "invalid_client")


def test_assertion_more_than_five_minutes_ahead_is_refused(
    app: FastAPI, anonymous: TestClient
) -> None:
    identity = register_client(app, KOMMUN, PartyKind.KOMMUN)
    too_long = assertion(identity, exp=int(time.time()) + 3600)
    assert "at most" in _error(token_response(anonymous, too_long), 401, "invalid_client")


def test_future_dated_assertion_is_refused(app: FastAPI, anonymous: TestClient) -> None:
    identity = register_client(app, KOMMUN, PartyKind.KOMMUN)
    future = assertion(identity, iat=int(time.time()) + 600)
    assert "future" in _error(token_response(anonymous, future), 401, "invalid_client")


def test_replayed_jti_is_refused(app: FastAPI, anonymous: TestClient) -> None:
    identity = register_client(app, KOMMUN, PartyKind.KOMMUN)
    once = assertion(identity)
    assert token_response(anonymous, once).status_code == 200
    assert "used before" in _error(token_response(anonymous, once), 401, "invalid_client")


def test_wrong_audience_and_missing_claims_are_refused(app: FastAPI, anonymous: TestClient) -> None:
    identity = register_client(app, KOMMUN, PartyKind.KOMMUN)
    _error(
        token_response(anonymous, assertion(identity, aud="https://elsewhere/token")),
        401,
        "invalid_client",
    )
    _error(token_response(anonymous, assertion(identity, jti=None)), 401, "invalid_client")
    _error(
        token_response(anonymous, assertion(identity, sub="someone-else")), 401, "invalid_client"
    )


def test_unknown_client_is_refused(anonymous: TestClient) -> None:
    stranger = new_identity("never-registered")
    assert "unknown" in _error(
        token_response(anonymous, assertion(stranger)), 401, "invalid_client"
    )


def test_disabled_client_gets_no_token_and_its_tokens_stop_working(
    app: FastAPI, anonymous: TestClient
) -> None:
    identity = register_client(app, KOMMUN, PartyKind.KOMMUN)
    headers = bearer(anonymous, identity)
    assert anonymous.get("/fhir/Patient", headers=headers).status_code == 200
    with app.state.session_factory() as session, session.begin():
        set_enabled(session, identity.client_id, False)
    assert "disabled" in _error(
        token_response(anonymous, assertion(identity)), 401, "invalid_client"
    )
    assert anonymous.get("/fhir/Patient", headers=headers).status_code == 401


def test_scope_not_allowed_is_invalid_scope(app: FastAPI, anonymous: TestClient) -> None:
    identity = register_client(app, KOMMUN, PartyKind.KOMMUN, ("system/Patient.rs",))
    _error(token_response(anonymous, assertion(identity), "system/Task.u"), 400, "invalid_scope")


def test_missing_scope_on_an_interaction_is_403(app: FastAPI, anonymous: TestClient) -> None:
    identity = register_client(app, KOMMUN, PartyKind.KOMMUN, ("system/Patient.rs",))
    headers = bearer(anonymous, identity, "system/Patient.rs")
    response = anonymous.post(
        "/fhir/Patient",
        json={"resourceType": "Patient"},
        headers={**headers, "content-type": "application/fhir+json"},
    )
    assert response.status_code == 403
    issue = response.json()["issue"][0]
    assert issue["code"] == "forbidden"
    assert "system/Patient.c" in issue["diagnostics"]


def test_bad_token_requests(app: FastAPI, anonymous: TestClient) -> None:
    assert anonymous.post("/auth/token", json={}).status_code == 400
    form = {
        "grant_type": "password",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": "x",
        "scope": "s",
    }
    _error(anonymous.post("/auth/token", data=form), 400, "unsupported_grant_type")
    form["grant_type"] = "client_credentials"
    _error(anonymous.post("/auth/token", data=form), 401, "invalid_client")
    _error(anonymous.post("/auth/token", data={**form, "scope": ""}), 400, "invalid_scope")
    del form["client_assertion"]
    _error(anonymous.post("/auth/token", data=form), 400, "invalid_request")
    # Every one is audited, the ones refused before any client is known included.
    assert _refused_logins(app) == [
        "invalid_request",
        "unsupported_grant_type",
        "invalid_client",
        "invalid_scope",
        "invalid_request",
    ]


def test_an_oversized_token_request_is_refused_in_oauth_form_and_audited(
    app: FastAPI, anonymous: TestClient
) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": "x" * (MAX_FORM_BYTES + 1),
        "scope": "system/Patient.rs",
    }
    declared = anonymous.post("/auth/token", data=form)  # with its Content-Length
    streamed = anonymous.post(  # without one: refused as it streams in
        "/auth/token",
        content=iter([urlencode(form).encode()]),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    for response in (declared, streamed):
        assert response.headers["content-type"] == "application/json"
        description = _error(response, 413, "invalid_request")
        assert str(MAX_FORM_BYTES) in description
    assert _refused_logins(app) == ["invalid_request", "invalid_request"]


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def _refused_logins(app: FastAPI) -> list[str]:
    with app.state.session_factory() as session:
        store = ResourceStore(session)
        events = [
            store.read("AuditEvent", event_id).body or {}
            for event_id in session.scalars(
                select(AuditChainLink.event_id).order_by(AuditChainLink.seq)
            )
        ]
    return [
        str(e.get("outcomeDesc"))
        for e in events
        if e["type"]["code"] == "110114" and e["subtype"][0]["code"] == "110122"
        if e["outcome"] != "0"
    ]


@pytest.mark.parametrize(
    ("header", "claims"),
    [
        ('{"alg":"ES384"}', "[" * 5000 + "]" * 5000),  # deeper than the JSON parser goes
        ('"alg"', "{}"),  # a header that is no object
        ('["alg"]', "{}"),
    ],
    ids=["nested-too-deep", "header-a-string", "header-a-list"],
)
def test_a_malformed_assertion_is_invalid_client_and_audited(
    app: FastAPI, anonymous: TestClient, header: str, claims: str
) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": f"{_b64(header)}.{_b64(claims)}.AA",
        "scope": "system/Patient.rs",
    }
    _error(anonymous.post("/auth/token", data=form), 401, "invalid_client")
    assert _refused_logins(app) == ["invalid_client"]


@contextmanager
def _client_with_a_jwks_uri(app: FastAPI, identity: TestClientIdentity) -> Iterator[str]:
    """``identity`` registered as a client whose key set a server on loopback publishes
    (at the base URL given)."""
    jwks_app = FastAPI()

    @jwks_app.get("/jwks.json")
    def jwks() -> dict[str, Any]:
        return identity.public_jwks()

    with serve(jwks_app) as base:
        register_client(
            app, KOMMUN, PartyKind.KOMMUN, identity=identity, jwks_uri=f"{base}/jwks.json"
        )
        yield base


def test_a_kid_that_is_no_string_is_refused_for_a_jwks_uri_client(
    app: FastAPI, anonymous: TestClient
) -> None:
    identity = new_identity()
    with _client_with_a_jwks_uri(app, identity):
        claims = json.dumps({"iss": identity.client_id, "sub": identity.client_id})
        odd_kid = f"{_b64(json.dumps({'alg': 'ES384', 'kid': ['x']}))}.{_b64(claims)}.AA"
        _error(token_response(anonymous, odd_kid), 401, "invalid_client")
    assert _refused_logins(app) == ["invalid_client"]


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", "Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "Bearer " + "a.b.c"],
)
def test_api_without_a_valid_token_is_401(anonymous: TestClient, authorization: str) -> None:
    response = anonymous.get(
        "/fhir/Patient", headers={"authorization": authorization} if authorization else {}
    )
    assert response.status_code == 401
    assert response.json()["resourceType"] == "OperationOutcome"
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_expired_and_foreign_access_tokens_are_401(app: FastAPI, anonymous: TestClient) -> None:
    identity = register_client(app, KOMMUN, PartyKind.KOMMUN)
    now = int(time.time())
    claims = {
        "iss": "http://testserver/fhir",
        "aud": "http://testserver/fhir",
        "sub": identity.client_id,
        "exp": now - 5,
        "iat": now - 305,
        "scope": "system/*.cruds",
        "party": KOMMUN,
        "party_kind": "kommun",
    }
    key = OctKey.import_key(DEV_TOKEN_SECRET.encode())
    expired = jwt.encode({"alg": "HS256"}, claims, key, algorithms=["HS256"])
    assert (
        anonymous.get("/fhir/Patient", headers={"authorization": f"Bearer {expired}"}).status_code
        == 401
    )
    foreign_key = OctKey.import_key(b"someone-elses-secret-of-sufficient-length")
    foreign = jwt.encode(
        {"alg": "HS256"}, {**claims, "exp": now + 100}, foreign_key, algorithms=["HS256"]
    )
    assert (
        anonymous.get("/fhir/Patient", headers={"authorization": f"Bearer {foreign}"}).status_code
        == 401
    )


def test_keys_fetched_from_jwks_uri(app: FastAPI, anonymous: TestClient) -> None:
    identity = new_identity()
    with _client_with_a_jwks_uri(app, identity) as base:
        assert token_response(anonymous, assertion(identity)).status_code == 200
    # The key set is cached: with its host gone a new token still works until the TTL.
    assert token_response(anonymous, assertion(identity)).status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base}/jwks.json", timeout=1)


def test_a_key_set_that_never_ends_is_refused_at_the_limit(
    app: FastAPI, anonymous: TestClient
) -> None:
    identity = new_identity()
    sent = 0
    jwks_app = FastAPI()

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"keys":['
        while sent < 64 * 1024 * 1024:
            sent += 64 * 1024
            yield b" " * (64 * 1024)
            await asyncio.sleep(0.001)  # lets the server notice the client hung up

    @jwks_app.get("/jwks.json")
    def jwks() -> StreamingResponse:
        return StreamingResponse(endless(), media_type="application/json")

    with serve(jwks_app) as base:
        register_client(
            app, KOMMUN, PartyKind.KOMMUN, identity=identity, jwks_uri=f"{base}/jwks.json"
        )
        refused = token_response(anonymous, assertion(identity))
    assert refused.status_code in (400, 401)
    assert refused.json()["error"] == "invalid_client"
    assert sent < MAX_JWKS_BYTES + 16 * 1024 * 1024, "read as it streamed, dropped at the limit"


def test_rate_limit_answers_429_with_retry_after(settings: Any, engine: Any) -> None:
    from gateway.app import create_app

    limited = create_app(settings.model_copy(update={"rate_limit_per_minute": 3}), engine=engine)
    identity = register_client(limited, KOMMUN, PartyKind.KOMMUN)
    with TestClient(limited) as http:
        headers = bearer(http, identity)
        statuses = [http.get("/fhir/Patient", headers=headers).status_code for _ in range(5)]
        assert statuses[:3] == [200, 200, 200]
        assert statuses[3:] == [429, 429]
        throttled = http.get("/fhir/Patient", headers=headers)
        assert int(throttled.headers["retry-after"]) >= 1
        assert throttled.json()["issue"][0]["code"] == "throttled"
