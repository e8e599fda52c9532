"""/metrics: Prometheus figures by route template, never a path, an identifier or a name."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.settings import Settings
from tests.support.fhir_data import FHIR_JSON, patient, personnummer
from tests.support.metrics import sample, scrape

SEARCH = "/fhir/{resource_type}"
READ = "/fhir/{resource_type}/{res_id}"


def test_requests_are_counted_by_route_template_and_nothing_personal_shows(
    client: TestClient,
) -> None:
    before = scrape(client)
    created = client.post("/fhir/Patient", json=patient(51), headers=FHIR_JSON).json()
    number = personnummer(51)
    assert client.get("/fhir/Patient", params={"identifier": number}).status_code == 200
    assert client.get(f"/fhir/Patient/{created['id']}").status_code == 200
    assert client.get("/fhir/Patient/finns-inte").status_code == 404

    after = scrape(client)
    text = client.get("/metrics").text

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("kvgw_http_requests_total", method="POST", route=SEARCH, status="201") == 1
    assert grew("kvgw_http_requests_total", method="GET", route=SEARCH, status="200") == 1
    assert grew("kvgw_http_requests_total", method="GET", route=READ, status="200") == 1
    assert grew("kvgw_http_requests_total", method="GET", route=READ, status="404") == 1
    assert grew("kvgw_http_request_duration_seconds_count", method="GET", route=READ) == 2
    for secret in (number, number[2:], created["id"], "finns-inte", "Testsson"):
        assert secret not in text
    assert "process_cpu_seconds_total" in text


def test_a_made_up_method_is_counted_as_other(client: TestClient) -> None:
    before = scrape(client)
    assert client.request("BREW", "/healthz").status_code == 405
    after = scrape(client)
    labels = {"method": "other", "route": "/healthz", "status": "405"}
    assert sample(after, "kvgw_http_requests_total", **labels) == (
        sample(before, "kvgw_http_requests_total", **labels) + 1
    )
    assert "BREW" not in client.get("/metrics").text


def test_with_a_token_set_metrics_ask_for_it(settings: Settings, engine: Engine) -> None:
    guarded: FastAPI = create_app(
        settings.model_copy(update={"metrics_token": SecretStr("matarnyckel-123")}), engine=engine
    )
    with TestClient(guarded) as http:
        for headers in ({}, {"authorization": "Bearer fel"}, {"authorization": "matarnyckel"}):
            refused = http.get("/metrics", headers=headers)
            assert refused.status_code == 401
            outcome = refused.json()
            assert outcome["resourceType"] == "OperationOutcome"
            assert "nyckel" in outcome["issue"][0]["details"]["text"]
            assert refused.headers["www-authenticate"] == "Bearer"
        assert scrape(http, authorization="Bearer matarnyckel-123")
