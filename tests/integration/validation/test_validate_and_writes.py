"""$validate over HTTP, and invalid writes refused with 422 with nothing stored
(every test runs on SQLite and PostgreSQL through the ``client`` fixture)."""

from __future__ import annotations

import copy
import datetime
import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gateway.security.caller import PartyKind
from gateway.validation.conformance import DEFAULT_COMPILED_DIR
from gateway.validation.identifiers import SYSTEM_PERSONNUMMER, synthetic_personnummer
from tests.support.auth import bearer, register_client
from tests.support.fhir_data import FHIR_JSON, patient, service_request

SR_PROFILE = "https://kv-gateway.se/fhir/StructureDefinition/kv-servicerequest"
needs_profiles = pytest.mark.skipif(
    not DEFAULT_COMPILED_DIR.is_dir(), reason="profiles/compiled is not present"
)


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DEFAULT_COMPILED_DIR / name).read_text(encoding="utf-8"))
    return data


def issues_of(response: Any) -> list[dict[str, Any]]:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    result: list[dict[str, Any]] = body["issue"]
    return result


def errors_of(response: Any) -> list[dict[str, Any]]:
    return [i for i in issues_of(response) if i["severity"] in ("error", "fatal")]


def count(client: TestClient, resource_type: str) -> int:
    response = client.get(f"/fhir/{resource_type}", params={"_total": "accurate"})
    assert response.status_code == 200, response.text
    return int(response.json()["total"])


# ----- writes ----------------------------------------------------------------------


def test_bogus_status_is_refused_and_nothing_is_stored(client: TestClient) -> None:
    response = client.post(
        "/fhir/ServiceRequest", json=service_request(status="bogus"), headers=FHIR_JSON
    )
    assert response.status_code == 422, response.text
    found = errors_of(response)
    assert [i["expression"] for i in found] == [["ServiceRequest.status"]]
    assert found[0]["details"]["text"]
    assert "bogus" not in json.dumps(found)
    assert count(client, "ServiceRequest") == 0


def test_invalid_update_is_refused_and_the_stored_version_kept(client: TestClient) -> None:
    created = client.post("/fhir/ServiceRequest", json=service_request(), headers=FHIR_JSON)
    assert created.status_code == 201, created.text
    body = created.json()
    changed = {**body, "intent": "wish"}
    response = client.put(f"/fhir/ServiceRequest/{body['id']}", json=changed, headers=FHIR_JSON)
    assert response.status_code == 422, response.text
    current = client.get(f"/fhir/ServiceRequest/{body['id']}").json()
    assert current["intent"] == "order"
    assert current["meta"]["versionId"] == "1"


def test_bad_personnummer_is_refused(client: TestClient) -> None:
    good = synthetic_personnummer(datetime.date(1985, 3, 4), 17)
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    body = patient(identifier=[{"system": SYSTEM_PERSONNUMMER, "value": bad}])
    response = client.post("/fhir/Patient", json=body, headers=FHIR_JSON)
    assert response.status_code == 422, response.text
    assert [i["expression"] for i in errors_of(response)] == [["Patient.identifier[0].value"]]
    assert bad not in response.text
    assert count(client, "Patient") == 0


@needs_profiles
def test_a_resource_claiming_our_profile_is_held_to_it(client: TestClient) -> None:
    claimed = service_request(meta={"profile": [SR_PROFILE]})
    response = client.post("/fhir/ServiceRequest", json=claimed, headers=FHIR_JSON)
    assert response.status_code == 422, response.text
    expressions = {e for i in errors_of(response) for e in i["expression"]}
    assert {"ServiceRequest.supportingInfo", "ServiceRequest.requester"} <= expressions
    assert count(client, "ServiceRequest") == 0
    valid = example("ServiceRequest-example-servicerequest.json")
    valid.pop("id")
    accepted = client.post("/fhir/ServiceRequest", json=valid, headers=FHIR_JSON)
    assert accepted.status_code == 201, accepted.text


@needs_profiles
def test_an_answer_to_a_disabled_question_is_refused(client: TestClient) -> None:
    bad = example("invalid/QuestionnaireResponse-invalid-qr-answer-to-disabled-item.json")
    bad.pop("id")
    checked = client.post("/fhir/QuestionnaireResponse/$validate", json=bad, headers=FHIR_JSON)
    assert checked.status_code == 200, checked.text
    assert any(
        "QuestionnaireResponse.item[3].item[1]" in i["expression"] for i in errors_of(checked)
    )
    # On a write the workflow's own rules speak first: the request it answers is not there
    # (404, as for one the caller may not see). Either way nothing is stored.
    response = client.post("/fhir/QuestionnaireResponse", json=bad, headers=FHIR_JSON)
    assert response.status_code == 404, response.text
    assert response.json()["issue"][0]["code"] == "not-found"
    assert count(client, "QuestionnaireResponse") == 0


# ----- $validate -------------------------------------------------------------------


@needs_profiles
def test_validate_a_valid_example(client: TestClient) -> None:
    resource = example("ServiceRequest-example-servicerequest.json")
    response = client.post("/fhir/ServiceRequest/$validate", json=resource, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    issues = issues_of(response)
    assert issues[0]["severity"] == "information"
    assert issues[0]["details"]["text"] == "Inga fel hittades."
    assert errors_of(response) == []


@needs_profiles
def test_validate_applies_the_default_profile_and_lists_every_issue(client: TestClient) -> None:
    response = client.post(
        "/fhir/ServiceRequest/$validate", json=service_request(), headers=FHIR_JSON
    )
    assert response.status_code == 200, response.text
    expressions = {e for i in errors_of(response) for e in i["expression"]}
    assert {
        "ServiceRequest.supportingInfo",
        "ServiceRequest.requester",
        "ServiceRequest.authoredOn",
    } <= expressions
    assert all(i["details"]["text"] for i in issues_of(response))
    assert count(client, "ServiceRequest") == 0


@needs_profiles
def test_validate_with_parameters_profile_and_mode(client: TestClient) -> None:
    resource = copy.deepcopy(example("Patient-example-patient-tolvan.json"))
    parameters = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "resource", "resource": resource},
            {
                "name": "profile",
                "valueUri": "https://kv-gateway.se/fhir/StructureDefinition/kv-patient",
            },
            {"name": "mode", "valueCode": "update"},
        ],
    }
    response = client.post(
        f"/fhir/Patient/{resource['id']}/$validate", json=parameters, headers=FHIR_JSON
    )
    assert response.status_code == 200, response.text
    assert errors_of(response) == []
    wrong_id = client.post("/fhir/Patient/other-id/$validate", json=parameters, headers=FHIR_JSON)
    assert [i["expression"] for i in errors_of(wrong_id)] == [["Patient.id"]]
    parameters["parameter"][1]["valueUri"] = "https://nowhere.example/StructureDefinition/x"
    parameters["parameter"][2]["valueCode"] = "create"
    unknown = client.post("/fhir/Patient/$validate", json=parameters, headers=FHIR_JSON)
    assert unknown.status_code == 200
    assert [i["code"] for i in errors_of(unknown)] == ["not-supported"]


@needs_profiles
def test_validate_every_profile_of_ours(client: TestClient) -> None:
    for path in sorted(DEFAULT_COMPILED_DIR.glob("*-example-*.json")):
        resource = json.loads(path.read_text(encoding="utf-8"))
        if resource["resourceType"] in ("Bundle", "Questionnaire"):
            continue
        for profile in resource.get("meta", {}).get("profile", []):
            response = client.post(
                f"/fhir/{resource['resourceType']}/$validate",
                params={"profile": profile},
                json=resource,
                headers=FHIR_JSON,
            )
            assert response.status_code == 200, response.text
            assert errors_of(response) == [], path.name


@needs_profiles
def test_validate_a_request_bundle(client: TestClient) -> None:
    bundle = example("Bundle-example-request-bundle.json")
    response = client.post("/fhir/Bundle/$validate", json=bundle, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    assert errors_of(response) == []
    bundle["entry"][-1]["resource"]["status"] = "bogus"
    index = len(bundle["entry"]) - 1
    broken = client.post("/fhir/Bundle/$validate", json=bundle, headers=FHIR_JSON)
    assert any(
        f"Bundle.entry[{index}].resource.status" in i["expression"] for i in errors_of(broken)
    )


def test_validate_refuses_bad_input(client: TestClient) -> None:
    wrong_type = client.post("/fhir/Patient/$validate", json=service_request(), headers=FHIR_JSON)
    assert wrong_type.status_code == 400
    bad_mode = client.post(
        "/fhir/ServiceRequest/$validate",
        params={"mode": "destroy"},
        json=service_request(),
        headers=FHIR_JSON,
    )
    assert bad_mode.status_code == 400
    unknown_type = client.post(
        "/fhir/Nonsense/$validate", json={"resourceType": "Nonsense"}, headers=FHIR_JSON
    )
    assert unknown_type.status_code == 404
    no_resource = client.post(
        "/fhir/Patient/$validate",
        json={"resourceType": "Parameters", "parameter": []},
        headers=FHIR_JSON,
    )
    assert no_resource.status_code == 400
    not_a_list = client.post(
        "/fhir/Patient/$validate",
        json={"resourceType": "Parameters", "parameter": 5},
        headers=FHIR_JSON,
    )
    assert not_a_list.status_code == 400, not_a_list.text
    assert not_a_list.json()["issue"][0]["expression"] == ["Parameters.parameter"]
    delete = client.post(
        "/fhir/Patient/p1/$validate",
        json={"resourceType": "Parameters", "parameter": [{"name": "mode", "valueCode": "delete"}]},
        headers=FHIR_JSON,
    )
    assert delete.status_code == 200
    assert errors_of(delete) == []


def test_validate_structure_errors_are_reported_not_raised(client: TestClient) -> None:
    response = client.post(
        "/fhir/ServiceRequest/$validate", json=service_request(unknownThing=1), headers=FHIR_JSON
    )
    assert response.status_code == 200
    assert [i["code"] for i in errors_of(response)] == ["structure"]
    entries_not_a_list = client.post(
        "/fhir/Bundle/$validate",
        json={"resourceType": "Bundle", "type": "batch", "entry": 5},
        headers=FHIR_JSON,
    )
    assert entries_not_a_list.status_code == 200, entries_not_a_list.text
    assert errors_of(entries_not_a_list), "reported as the Bundle's error"


def test_validate_needs_authentication_and_scope(app: FastAPI, anonymous: TestClient) -> None:
    assert (
        anonymous.post("/fhir/Patient/$validate", json=patient(), headers=FHIR_JSON).status_code
        == 401
    )
    reader = register_client(
        app, "Organization/operator", PartyKind.OPERATOR, scopes=("system/Task.r",)
    )
    anonymous.headers.update(bearer(anonymous, reader, scope="system/Task.r"))
    refused = anonymous.post("/fhir/Patient/$validate", json=patient(), headers=FHIR_JSON)
    assert refused.status_code == 403
    allowed = anonymous.post(
        "/fhir/Task/$validate",
        json={"resourceType": "Task", "status": "requested", "intent": "order"},
        headers=FHIR_JSON,
    )
    assert allowed.status_code == 200, allowed.text
