"""CapabilityStatement, health probes and the Swedish landing page."""

from __future__ import annotations

from fastapi.testclient import TestClient
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.resources.types import RESOURCE_INTERACTIONS
from gateway.search.parameters import parameters_for
from gateway.settings import AuthMode, Settings


def test_capability_statement_is_valid_and_says_what_is_implemented(client: TestClient) -> None:
    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    body = response.json()
    CapabilityStatement.model_validate(body)
    assert body["fhirVersion"] == "4.0.1"
    rest = body["rest"][0]
    assert {i["code"] for i in rest["interaction"]} == {"transaction", "batch"}
    resources = {r["type"]: r for r in rest["resource"]}
    assert set(resources) == set(RESOURCE_INTERACTIONS)
    audit = {i["code"] for i in resources["AuditEvent"]["interaction"]}
    assert "create" not in audit
    assert "update" not in audit
    assert "read" in audit
    for resource_type, entry in resources.items():
        declared = {p["name"] for p in entry["searchParam"]}
        assert declared == set(parameters_for(resource_type)) | {"_id", "_lastUpdated"}
        assert entry["updateCreate"] is False
        assert entry["conditionalUpdate"] is False


def test_every_advertised_search_parameter_is_accepted(client: TestClient) -> None:
    body = client.get("/fhir/metadata").json()
    samples = {
        "token": "x",
        "reference": "Organization/x",
        "date": "2026",
        "string": "x",
        "uri": "http://x",
    }
    for entry in body["rest"][0]["resource"]:
        for param in entry["searchParam"]:
            response = client.get(
                f"/fhir/{entry['type']}", params={param["name"]: samples[param["type"]]}
            )
            assert response.status_code in (200, 400), (entry["type"], param["name"])
            if (
                response.status_code == 400
            ):  # only a reference whose type the parameter cannot target
                assert param["type"] == "reference", (entry["type"], param["name"], response.text)


def test_health_probes(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "reachable"


def test_readiness_fails_when_the_database_is_gone(settings: Settings, tmp_path: object) -> None:
    from gateway.store.db import make_engine

    broken = make_engine("postgresql+psycopg://nobody@127.0.0.1:9/none")
    with TestClient(create_app(settings, engine=broken)) as probe:
        response = probe.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_landing_page_is_swedish_and_links_onward(client: TestClient, engine: Engine) -> None:
    response = client.get("/", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<html lang="sv">' in page
    assert "medicinskt utlåtande" in page
    assert "Demoläge" not in page
    for link in ("/fhir/metadata", "/docs", "/healthz", "/.well-known/smart-configuration"):
        assert link in page


def test_landing_page_warns_in_demo_mode(settings: Settings, engine: Engine) -> None:
    demo = create_app(settings.model_copy(update={"auth_mode": AuthMode.DEMO}), engine=engine)
    with TestClient(demo) as browser:
        assert "Demoläge" in browser.get("/").text


def test_openapi_document_is_served(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/fhir/{resource_type}" in spec["paths"]
