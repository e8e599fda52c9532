"""Batch and transaction Bundles: all-or-nothing, urn:uuid resolution, conditional create."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from gateway.store.models import ResourceHead, ResourceVersion
from gateway.validation.identifiers import SYSTEM_PERSONNUMMER
from tests.support.fhir_data import (
    CASE_ID_SYSTEM,
    FHIR_JSON,
    patient,
    personnummer,
    service_request,
)


def _counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        # AuditEvents are written for every request, refused ones too: count the rest.
        heads = connection.execute(
            select(func.count())
            .select_from(ResourceHead)
            .where(ResourceHead.res_type != "AuditEvent")
        ).scalar_one()
        versions = connection.execute(
            select(func.count())
            .select_from(ResourceVersion)
            .where(ResourceVersion.res_type != "AuditEvent")
        ).scalar_one()
    return int(heads), int(versions)


def _transaction(*entries: dict[str, Any], kind: str = "transaction") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


def _post(
    resource: dict[str, Any], full_url: str | None = None, if_none_exist: str | None = None
) -> dict[str, Any]:
    request: dict[str, Any] = {"method": "POST", "url": resource["resourceType"]}
    if if_none_exist:
        request["ifNoneExist"] = if_none_exist
    entry: dict[str, Any] = {"resource": resource, "request": request}
    if full_url:
        entry["fullUrl"] = full_url
    return entry


PATIENT_URN = "urn:uuid:8a4c1a36-6f0a-4a55-9a0b-1c2d3e4f5a6b"


def test_transaction_creates_all_and_resolves_urn_references(client: TestClient) -> None:
    bundle = _transaction(
        _post(service_request(PATIENT_URN), "urn:uuid:0f6c3d5e-1111-4a55-9a0b-1c2d3e4f5a6b"),
        _post(patient(1), PATIENT_URN),
    )
    response = client.post("/fhir", json=bundle, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["type"] == "transaction-response"
    statuses = [e["response"]["status"] for e in result["entry"]]
    assert statuses == ["201 Created", "201 Created"]
    request_entry, patient_entry = result["entry"]
    patient_id = patient_entry["resource"]["id"]
    assert request_entry["resource"]["subject"]["reference"] == f"Patient/{patient_id}"
    stored = client.get(f"/fhir/ServiceRequest/{request_entry['resource']['id']}").json()
    assert stored["subject"]["reference"] == f"Patient/{patient_id}"


def test_failing_entry_rolls_back_the_whole_transaction(client: TestClient, engine: Engine) -> None:
    before = _counts(engine)
    bad = service_request(PATIENT_URN)
    bad["notAnElement"] = True
    bundle = _transaction(_post(patient(1), PATIENT_URN), _post(bad))
    response = client.post("/fhir", json=bundle, headers=FHIR_JSON)
    assert response.status_code == 422
    issue = response.json()["issue"][0]
    assert issue["expression"] == ["Bundle.entry[1].resource.notAnElement"]
    assert _counts(engine) == before


def test_failing_update_rolls_back_earlier_creates(client: TestClient, engine: Engine) -> None:
    existing = client.post("/fhir/Patient", json=patient(3), headers=FHIR_JSON).json()
    before = _counts(engine)
    stale_update = {
        "resource": existing,
        "request": {"method": "PUT", "url": f"Patient/{existing['id']}", "ifMatch": 'W/"7"'},
    }
    response = client.post(
        "/fhir", json=_transaction(_post(patient(4)), stale_update), headers=FHIR_JSON
    )
    assert response.status_code == 412
    assert _counts(engine) == before


def test_unresolved_urn_reference_is_400_with_path(client: TestClient, engine: Engine) -> None:
    response = client.post(
        "/fhir", json=_transaction(_post(service_request("urn:uuid:nobody"))), headers=FHIR_JSON
    )
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == [
        "Bundle.entry[0].resource.subject.reference"
    ]
    assert _counts(engine) == (0, 0)


def test_conditional_create_in_transaction_reuses_existing(client: TestClient) -> None:
    condition = f"identifier={SYSTEM_PERSONNUMMER}|{personnummer(5)}"
    first = client.post(
        "/fhir", json=_transaction(_post(patient(5), PATIENT_URN, condition)), headers=FHIR_JSON
    )
    created_id = first.json()["entry"][0]["resource"]["id"]
    second_bundle = _transaction(
        _post(patient(5), PATIENT_URN, condition),
        _post(service_request(PATIENT_URN)),
    )
    second = client.post("/fhir", json=second_bundle, headers=FHIR_JSON).json()
    assert second["entry"][0]["response"]["status"] == "200 OK"
    assert second["entry"][0]["resource"]["id"] == created_id
    assert second["entry"][1]["resource"]["subject"]["reference"] == f"Patient/{created_id}"
    search = client.get("/fhir/Patient", params={"identifier": personnummer(5)}).json()
    assert search["total"] == 1


def test_conditional_reference_is_resolved(client: TestClient) -> None:
    created = client.post("/fhir/Patient", json=patient(6), headers=FHIR_JSON).json()
    reference = f"Patient?identifier={SYSTEM_PERSONNUMMER}|{personnummer(6)}"
    response = client.post(
        "/fhir", json=_transaction(_post(service_request(reference))), headers=FHIR_JSON
    )
    assert response.status_code == 200, response.text
    assert (
        response.json()["entry"][0]["resource"]["subject"]["reference"]
        == f"Patient/{created['id']}"
    )
    missing = f"Patient?identifier={SYSTEM_PERSONNUMMER}|{personnummer(8)}"
    response = client.post(
        "/fhir", json=_transaction(_post(service_request(missing))), headers=FHIR_JSON
    )
    assert response.status_code == 404
    assert personnummer(8) not in response.text


def test_transaction_with_read_search_update_and_delete(client: TestClient) -> None:
    keep = client.post("/fhir/Patient", json=patient(1), headers=FHIR_JSON).json()
    drop = client.post("/fhir/Patient", json=patient(2), headers=FHIR_JSON).json()
    bundle = _transaction(
        {"request": {"method": "GET", "url": f"Patient/{keep['id']}"}},
        {"request": {"method": "GET", "url": f"Patient?identifier={personnummer(1)}"}},
        {
            "resource": {**keep, "active": False},
            "request": {"method": "PUT", "url": f"Patient/{keep['id']}"},
        },
        {"request": {"method": "DELETE", "url": f"Patient/{drop['id']}"}},
    )
    result = client.post("/fhir", json=bundle, headers=FHIR_JSON).json()
    statuses = [e["response"]["status"] for e in result["entry"]]
    assert statuses == ["200 OK", "200 OK", "200 OK", "204 No Content"]
    # GET runs after PUT, as FHIR orders transaction entries
    assert result["entry"][0]["resource"]["active"] is False
    assert result["entry"][1]["resource"]["total"] == 1
    assert client.get(f"/fhir/Patient/{drop['id']}").status_code == 410


def test_batch_entries_succeed_or_fail_independently(client: TestClient) -> None:
    bad = patient(2)
    bad["unknown"] = 1
    bundle = _transaction(
        _post(patient(1)),
        _post(bad),
        {"request": {"method": "GET", "url": "Patient/missing"}},
        kind="batch",
    )
    response = client.post("/fhir", json=bundle, headers=FHIR_JSON)
    assert response.status_code == 200
    entries = response.json()["entry"]
    assert entries[0]["response"]["status"] == "201 Created"
    assert entries[1]["response"]["status"] == "422"
    assert entries[1]["response"]["outcome"]["issue"][0]["expression"] == [
        "Bundle.entry[1].resource.unknown"
    ]
    assert entries[2]["response"]["status"] == "404"
    assert client.get("/fhir/Patient").json()["total"] == 1


def test_batch_resolves_conditional_references_and_refuses_what_names_nothing(
    client: TestClient,
) -> None:
    created = client.post("/fhir/Patient", json=patient(6), headers=FHIR_JSON).json()
    found = f"Patient?identifier={SYSTEM_PERSONNUMMER}|{personnummer(6)}"
    missing = f"Patient?identifier={SYSTEM_PERSONNUMMER}|{personnummer(8)}"
    bundle = _transaction(
        _post(service_request(found)),
        _post(service_request(missing)),
        _post(service_request(PATIENT_URN)),
        kind="batch",
    )
    response = client.post("/fhir", json=bundle, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    resolved, unmatched, unnamed = response.json()["entry"]
    assert resolved["resource"]["subject"]["reference"] == f"Patient/{created['id']}"
    assert unmatched["response"]["status"] == "404"
    assert unmatched["response"]["outcome"]["issue"][0]["expression"] == [
        "Bundle.entry[1].resource.subject.reference"
    ]
    assert unnamed["response"]["status"] == "400"
    assert personnummer(8) not in response.text
    assert client.get("/fhir/ServiceRequest").json()["total"] == 1


def test_a_plain_create_or_update_resolves_conditional_references_too(
    client: TestClient,
) -> None:
    created = client.post("/fhir/Patient", json=patient(6), headers=FHIR_JSON).json()
    found = f"Patient?identifier={SYSTEM_PERSONNUMMER}|{personnummer(6)}"
    request = client.post("/fhir/ServiceRequest", json=service_request(found), headers=FHIR_JSON)
    assert request.status_code == 201, request.text
    assert request.json()["subject"]["reference"] == f"Patient/{created['id']}"
    updated = client.put(
        f"/fhir/ServiceRequest/{request.json()['id']}",
        json={**request.json(), "subject": {"reference": found}},
        headers=FHIR_JSON,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["subject"]["reference"] == f"Patient/{created['id']}"

    missing = f"Patient?identifier={SYSTEM_PERSONNUMMER}|{personnummer(8)}"
    for reference, status in ((missing, 404), (PATIENT_URN, 400)):
        refused = client.post(
            "/fhir/ServiceRequest", json=service_request(reference), headers=FHIR_JSON
        )
        assert refused.status_code == status, refused.text
        (issue,) = refused.json()["issue"]
        assert issue["expression"] == ["ServiceRequest.subject.reference"]
        assert personnummer(8) not in refused.text
    assert client.get("/fhir/ServiceRequest").json()["total"] == 1


def test_bundle_shape_errors(client: TestClient) -> None:
    assert client.post("/fhir", json=patient(), headers=FHIR_JSON).status_code == 400
    assert (
        client.post(
            "/fhir", json={"resourceType": "Bundle", "type": "collection"}, headers=FHIR_JSON
        ).status_code
        == 400
    )
    no_request = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": patient()}],
    }
    response = client.post("/fhir", json=no_request, headers=FHIR_JSON)
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["Bundle.entry[0].request"]
    patch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"request": {"method": "PATCH", "url": "Patient/1"}}],
    }
    assert client.post("/fhir", json=patch, headers=FHIR_JSON).status_code == 400


def test_too_many_entries_is_413(client: TestClient) -> None:
    entries = [_post(patient(i)) for i in range(501)]
    response = client.post("/fhir", json=_transaction(*entries), headers=FHIR_JSON)
    assert response.status_code == 413


def test_case_identifier_conditional_create_over_rest(client: TestClient) -> None:
    body = service_request(identifier=[{"system": CASE_ID_SYSTEM, "value": "2026-0042"}])
    headers = {**FHIR_JSON, "if-none-exist": f"identifier={CASE_ID_SYSTEM}|2026-0042"}
    first = client.post("/fhir/ServiceRequest", json=body, headers=headers)
    second = client.post("/fhir/ServiceRequest", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert client.get("/fhir/ServiceRequest").json()["total"] == 1
    client.post("/fhir/ServiceRequest", json=body, headers=FHIR_JSON)
    ambiguous = client.post("/fhir/ServiceRequest", json=body, headers=headers)
    assert ambiguous.status_code == 412
