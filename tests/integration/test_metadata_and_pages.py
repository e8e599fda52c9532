"""CapabilityStatement, health probes and the Swedish landing page."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.resources.types import RESOURCE_INTERACTIONS
from gateway.search.parameters import parameters_for
from gateway.settings import AuthMode, Settings
from tests.support.fhir_data import FHIR_JSON


def test_capability_statement_is_valid_and_says_what_is_implemented(client: TestClient) -> None:
    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    body = response.json()
    CapabilityStatement.model_validate(body)
    assert body["fhirVersion"] == "4.0.1"
    rest = body["rest"][0]
    assert {i["code"] for i in rest["interaction"]} == {"transaction", "batch"}
    resources = {r["type"]: r for r in rest["resource"]}
    assert set(resources) == set(RESOURCE_INTERACTIONS) | {"Bundle"}  # Bundle: $validate
    assert set(resources["Bundle"]) == {"type", "operation"}
    audit = {i["code"] for i in resources["AuditEvent"]["interaction"]}
    assert "create" not in audit
    assert "update" not in audit
    assert "read" in audit
    for resource_type in RESOURCE_INTERACTIONS:
        entry = resources[resource_type]
        declared = {p["name"] for p in entry["searchParam"]}
        assert declared == set(parameters_for(resource_type)) | {"_id", "_lastUpdated"}
        assert entry["updateCreate"] is False
        assert entry["conditionalUpdate"] is False
        assert entry["conditionalRead"] == "not-match"  # If-None-Match, not If-Modified-Since


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
        for param in entry.get("searchParam", []):
            declared = parameters_for(entry["type"]).get(param["name"])
            sample = "true" if declared and declared.boolean else samples[param["type"]]
            response = client.get(f"/fhir/{entry['type']}", params={param["name"]: sample})
            assert response.status_code in (200, 400), (entry["type"], param["name"])
            if (
                response.status_code == 400
            ):  # only a reference whose type the parameter cannot target
                assert param["type"] == "reference", (entry["type"], param["name"], response.text)


def test_the_operations_served_are_listed(client: TestClient) -> None:
    rest = client.get("/fhir/metadata").json()["rest"][0]
    operations = {
        r["type"]: {o["name"]: o["definition"] for o in r.get("operation", [])}
        for r in rest["resource"]
    }
    for resource_type in [*RESOURCE_INTERACTIONS, "Bundle"]:
        assert operations[resource_type]["validate"] == (
            "http://hl7.org/fhir/OperationDefinition/Resource-validate"
        ), resource_type
    assert [t for t, named in operations.items() if "submit" in named] == ["ServiceRequest"]
    assert operations["ServiceRequest"]["submit"] == (
        "https://kv-gateway.se/fhir/OperationDefinition/ServiceRequest-submit"
    )
    assert {o["name"]: o["definition"] for o in rest["operation"]} == {
        "resolve-route": "https://kv-gateway.se/fhir/OperationDefinition/resolve-route"
    }


def test_every_operation_route_is_listed_and_every_listed_one_answers(client: TestClient) -> None:
    rest = client.get("/fhir/metadata").json()["rest"][0]
    listed = [f"/fhir/${o['name']}" for o in rest["operation"]]
    for entry in rest["resource"]:
        for operation in entry.get("operation", []):
            listed.append(f"/fhir/{entry['type']}/${operation['name']}")
            if operation["name"] == "validate":  # Resource-validate: type and instance
                listed.append(f"/fhir/{entry['type']}/x1/$validate")
    served = [p for p in client.get("/openapi.json").json()["paths"] if "$" in p]
    assert len(served) >= 4
    for template in served:  # e.g. /fhir/{resource_type}/{res_id}/$validate
        steps = template.split("/")
        pattern = "/".join("[^/]+" if s.startswith("{") else re.escape(s) for s in steps)
        assert any(re.fullmatch(pattern, path) for path in listed), template
    for path in listed:
        response = client.post(path, json={}, headers=FHIR_JSON)
        assert response.status_code not in (404, 405), (path, response.text)
        assert response.json()["resourceType"] == "OperationOutcome", path


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
