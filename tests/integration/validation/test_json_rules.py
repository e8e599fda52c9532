"""Writes that break FHIR's JSON rules are 422 at the element, on both backends, and
store nothing (gateway.validation.json_shape)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.support.fhir_data import FHIR_JSON, organization, patient, personnummer


def _refused_at(response: Any, path: str) -> str:
    assert response.status_code == 422, response.text
    issues = response.json()["issue"]
    assert [e for issue in issues for e in issue.get("expression", [])] == [path]
    text: str = issues[0]["details"]["text"]
    return text


def _total(client: TestClient, resource_type: str) -> int:
    return int(client.get(f"/fhir/{resource_type}", params={"_total": "accurate"}).json()["total"])


def test_a_quoted_boolean_is_refused_and_nothing_stored(client: TestClient) -> None:
    response = client.post("/fhir/Patient", json=patient(51, active="true"), headers=FHIR_JSON)
    assert "true eller false" in _refused_at(response, "Patient.active")
    assert _total(client, "Patient") == 0


def test_an_organization_cannot_be_switched_off_with_a_string(client: TestClient) -> None:
    created = client.post("/fhir/Organization", json=organization(), headers=FHIR_JSON)
    assert created.status_code == 201
    stored = created.json()
    response = client.put(
        f"/fhir/Organization/{stored['id']}", json={**stored, "active": "false"}, headers=FHIR_JSON
    )
    _refused_at(response, "Organization.active")
    assert client.get(f"/fhir/Organization/{stored['id']}").json()["meta"]["versionId"] == "1"


def test_a_control_character_is_422_not_a_database_error(client: TestClient) -> None:
    """PostgreSQL stores no NUL in text: this was a 500 there."""
    body = {
        "resourceType": "PractitionerRole",
        "organization": {"reference": "Organization/kommun-0180"},
        "identifier": [{"system": "urn:x\u0000", "value": personnummer(52)}],
    }
    response = client.post("/fhir/PractitionerRole", json=body, headers=FHIR_JSON)
    text = _refused_at(response, "PractitionerRole.identifier[0].system")
    assert "styrtecken" in text
    assert personnummer(52) not in response.text
    assert _total(client, "PractitionerRole") == 0


def test_an_empty_list_is_refused(client: TestClient) -> None:
    response = client.post("/fhir/Patient", json=patient(53, name=[]), headers=FHIR_JSON)
    assert "tomt" in _refused_at(response, "Patient.name")
