"""An Endpoint is refused when written unless the gateway can deliver through it: its
connection type (in the gateway's CodeSystem) is one an adapter has, and its address is
what that adapter reads (EndpointChecksHook)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.delivery.registry import AdapterRegistry
from gateway.routing.demo_directory import CONNECTION_TYPE_SYSTEM
from tests.integration.routing.conftest import hsa_of

FHIR_JSON = {"content-type": "application/fhir+json"}
UNIT = "Organization/vc-jonkoping-centrum"


def endpoint(
    code: str, address: str, system: str | None = CONNECTION_TYPE_SYSTEM
) -> dict[str, Any]:
    coding = {"code": code} if system is None else {"system": system, "code": code}
    return {
        "resourceType": "Endpoint",
        "status": "active",
        "connectionType": coding,
        "name": "Journalsystemet",
        "managingOrganization": {"reference": UNIT},
        "payloadType": [{"text": "Begäran om medicinskt utlåtande (FHIR R4)"}],
        "address": address,
    }


def refused_at(response: Any, expression: str) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    issue: dict[str, Any] = body["issue"][0]
    assert issue["expression"] == [expression]
    assert issue["details"]["text"]  # Swedish, for the person who wrote the Endpoint
    assert issue["diagnostics"]
    return issue


@pytest.mark.usefixtures("demo")
def test_a_connection_type_the_gateway_does_not_have_is_refused(client: TestClient) -> None:
    bogus = client.post("/fhir/Endpoint", json=endpoint("bogus", "https://journal.example/fhir"))
    issue = refused_at(bogus, "Endpoint.connectionType.code")
    assert "Anslutningstypen" in issue["details"]["text"]
    assert "'bogus'" in issue["diagnostics"]
    # Every connection type an installed adapter delivers through is one the hook accepts.
    addresses = {"fhir-rest": "https://journal.example/fhir", "rivta": hsa_of("vc-gavle-sodra")}
    for code in AdapterRegistry.from_entry_points().connection_types:
        body = endpoint(code, addresses.get(code, "https://kv-gateway.se/inbox/x"))
        assert client.post("/fhir/Endpoint", json=body).status_code == 201, code


NOT_HTTP_URLS = (
    "=HYPERLINK(1)",
    "file:///etc/passwd",
    "journal.example/fhir",
    "https://",
    "https://journal.example:99999/fhir",
    "https://user:secret@journal.example/fhir",
    "https://journal.example/fhir?x=1",
    "https://journal.example/fhir#top",
    "https://journal.example/fhir\n",
    "HTTPS://journal.example/fhir",  # the adapter reads only a lower-case scheme
    "",
)


@pytest.mark.usefixtures("demo")
def test_a_fhir_rest_address_that_is_no_http_url_is_refused(client: TestClient) -> None:
    for address in NOT_HTTP_URLS:
        response = client.post("/fhir/Endpoint", json=endpoint("fhir-rest", address))
        issue = refused_at(response, "Endpoint.address")
        assert "fhir-rest" in issue["diagnostics"], address


@pytest.mark.usefixtures("demo")
def test_addresses_each_connection_type_uses_are_accepted(client: TestClient) -> None:
    accepted = [
        ("fhir-rest", "https://journal.example/fhir"),
        ("fhir-rest", "http://127.0.0.1:8081/fhir/"),
        ("fhir-rest", "http://10.1.2.3/fhir"),  # a journal system on an internal network
        ("rivta", "https://ntjp.example/vp"),
        ("rivta", hsa_of("vc-gavle-sodra")),  # the logical address itself
        ("inbox", "https://kv-gateway.se/fhir/inbox/vc-halmstad-norr"),
        ("inbox", "urn:uuid:2f0b8a8e-6c1e-4a63-9f1e-0d6a6c3f7e11"),
    ]
    for code, address in accepted:
        response = client.post("/fhir/Endpoint", json=endpoint(code, address))
        assert response.status_code == 201, (code, address, response.text)
    refused = [
        ("rivta", "=HYPERLINK(1)"),
        ("rivta", "SE2321000057-VC1001 "),
        ("rivta", "https://user@ntjp.example/vp"),
        ("inbox", "=HYPERLINK(1)"),
        ("inbox", "https://kv-gateway.se/inbox/ x"),
    ]
    for code, address in refused:
        response = client.post("/fhir/Endpoint", json=endpoint(code, address))
        refused_at(response, "Endpoint.address")


@pytest.mark.usefixtures("demo")
def test_a_gateway_code_in_another_system_still_needs_its_address(client: TestClient) -> None:
    """Delivery picks the adapter by the code alone: a fhir-rest code in any system is
    delivered by the fhir-rest adapter, so its address is checked as well."""
    other = endpoint("fhir-rest", "file:///etc/passwd", system="urn:example:other")
    refused_at(client.post("/fhir/Endpoint", json=other), "Endpoint.address")
    no_system = endpoint("fhir-rest", "=HYPERLINK(1)", system=None)
    refused_at(client.post("/fhir/Endpoint", json=no_system), "Endpoint.address")
    # Another system's own codes are no adapter's: they are not the hook's to judge.
    foreign = endpoint("hl7-fhir-rest", "https://journal.example/fhir", system="urn:example")
    assert client.post("/fhir/Endpoint", json=foreign).status_code == 201


@pytest.mark.usefixtures("demo")
def test_the_demo_endpoints_stay_writable_and_a_bad_update_is_refused(
    client: TestClient,
) -> None:
    for res_id in ("ep-vc-jonkoping-centrum", "ep-vc-gavle-sodra", "ep-vc-halmstad-norr"):
        current = client.get(f"/fhir/Endpoint/{res_id}").json()
        body = {k: v for k, v in current.items() if k != "meta"}
        assert client.put(f"/fhir/Endpoint/{res_id}", json=body).status_code == 200, res_id
    current = client.get("/fhir/Endpoint/ep-vc-jonkoping-centrum").json()
    bad = {**{k: v for k, v in current.items() if k != "meta"}, "address": "file:///etc/passwd"}
    refused_at(client.put("/fhir/Endpoint/ep-vc-jonkoping-centrum", json=bad), "Endpoint.address")
    after = client.get("/fhir/Endpoint/ep-vc-jonkoping-centrum").json()
    assert after["address"] == current["address"]


@pytest.mark.usefixtures("demo")
def test_a_transaction_with_an_undeliverable_endpoint_is_refused(client: TestClient) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:0b6f3c1e-8d0a-4d8e-9a57-3c3f1c2b7a10",
                "resource": endpoint("bogus", "https://journal.example/fhir"),
                "request": {"method": "POST", "url": "Endpoint"},
            }
        ],
    }
    response = client.post("/fhir", json=bundle, headers=FHIR_JSON)
    assert response.status_code == 422, response.text
    issue = response.json()["issue"][0]
    assert issue["expression"] == ["Bundle.entry[0].resource.connectionType.code"]
