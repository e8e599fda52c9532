"""Production sends nothing to a peer over plain http, except to this host (loopback): an
Endpoint's address (fhir-rest, rivta) is refused with 422 at ``Endpoint.address``, in the
FHIR API and in a directory import; a listing server is a configuration error of one line.
Development keeps accepting http, for local peers and test networks."""

from __future__ import annotations

import base64

import pytest
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from gateway.cli.common import user_errors
from gateway.routing.directory_hooks import endpoint_problem
from gateway.routing.directory_io import DirectoryImportError, import_resources
from gateway.settings import AuthMode, Environment, Settings
from gateway.store.resources import ResourceStore
from gateway.validation.pipeline import ValidationPipeline
from tests.conftest import TEST_BASE_URL
from tests.integration.routing.test_endpoint_checks import UNIT, endpoint, refused_at

# The database does not matter here: SQLite only.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

PRODUCTION_KEYS: dict[str, str] = {
    "token_secret": "production-token-secret-of-the-test-" + "t" * 16,
    "encryption_keys": "prod1:" + base64.b64encode(b"k" * 32).decode(),
    "encryption_active_key": "prod1",
    "blind_index_key": "production-blind-index-key-of-the-test",
    "audit_chain_key": "production-audit-chain-key-of-the-test",
    "listing_hash_key": "production-listing-hash-key-of-the-test",
}
PLAIN_HTTP = (
    ("fhir-rest", "http://journal.example/fhir"),
    ("fhir-rest", "http://10.1.2.3/fhir"),  # an internal network is a network too
    ("fhir-rest", "http://localhost.example/fhir"),
    ("rivta", "http://ntjp.example/vp"),
    ("rivta", "http://127.0.0.1.nip.io/vp"),
)
ALLOWED = (
    ("fhir-rest", "https://journal.example/fhir"),
    ("fhir-rest", "http://127.0.0.1:8081/fhir"),
    ("fhir-rest", "http://localhost:8081/fhir"),
    ("rivta", "http://[::1]:8443/vp"),
    ("rivta", "https://ntjp.example/vp"),
    ("rivta", "SE2321000016-VC4002"),  # a logical address
    ("inbox", "urn:uuid:2f0b8a8e-6c1e-4a63-9f1e-0d6a6c3f7e11"),
)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        environment=Environment.PRODUCTION,
        auth_mode=AuthMode.SMART,
        public_base_url=TEST_BASE_URL,
        rate_limit_per_minute=0,
        delivery_worker_in_process=False,
        **PRODUCTION_KEYS,  # type: ignore[arg-type]
    )


@SQLITE_ONLY
def test_production_refuses_an_endpoint_over_plain_http_to_another_host(
    app: FastAPI, client: TestClient
) -> None:
    with app.state.session_factory() as session, session.begin():
        unit = {"resourceType": "Organization", "name": "Vårdcentralen"}
        ResourceStore(session).create(unit, res_id=UNIT.removeprefix("Organization/"))
    for code, address in PLAIN_HTTP:
        response = client.post("/fhir/Endpoint", json=endpoint(code, address))
        issue = refused_at(response, "Endpoint.address")
        assert "https" in issue["details"]["text"], address
        assert "production needs https" in issue["diagnostics"], address
        assert address not in issue["diagnostics"]
    for code, address in ALLOWED:
        response = client.post("/fhir/Endpoint", json=endpoint(code, address))
        assert response.status_code == 201, (code, address, response.text)
    # A directory import (kv-gateway directory import) refuses it too.
    body = {**endpoint("fhir-rest", "http://journal.example/fhir"), "id": "ep-plain"}
    with app.state.session_factory() as session, session.begin():
        store = ResourceStore(session)
        with pytest.raises(DirectoryImportError, match="production needs https"):
            import_resources(
                store, ValidationPipeline(), [body], environment=Environment.PRODUCTION
            )
        assert import_resources(store, ValidationPipeline(), [body]).created == 1  # development


def test_development_accepts_plain_http() -> None:
    for code, address in PLAIN_HTTP:
        assert endpoint_problem(endpoint(code, address)) is None, address
        assert endpoint_problem(endpoint(code, address), environment=Environment.PRODUCTION)


def _listing_settings(environment: Environment, url: str) -> Settings:
    return Settings(
        environment=environment,
        listing_fhir_servers={"06": url},
        **PRODUCTION_KEYS,  # type: ignore[arg-type]
    )


def test_listing_servers_over_plain_http_are_refused_in_production_only() -> None:
    for _, url in PLAIN_HTTP:
        with pytest.raises(ValidationError, match="region 06 must use https in production"):
            _listing_settings(Environment.PRODUCTION, url)
        assert _listing_settings(Environment.DEVELOPMENT, url).listing_fhir_servers == {"06": url}
    for url in ("https://region.example/fhir", "http://127.0.0.1:8081/fhir", "http://[::1]/fhir"):
        assert _listing_settings(Environment.PRODUCTION, url).listing_fhir_servers == {"06": url}
    for environment in Environment:
        with pytest.raises(ValidationError, match="region 06 is not an absolute http"):
            _listing_settings(environment, "region.example/fhir")


def test_the_gateway_will_not_start_with_one_and_says_so_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(typer.Exit) as stopped, user_errors():
        _listing_settings(Environment.PRODUCTION, "http://region.example/fhir")
    assert stopped.value.exit_code == 1
    assert capsys.readouterr().err.splitlines() == [
        "kv-gateway: invalid configuration: KVGW_LISTING_FHIR_SERVERS: Value error, the "
        "listing server of region 06 must use https in production (plain http only to this "
        "host: localhost, 127.0.0.1, ::1)"
    ]
