"""Every error is an OperationOutcome with the right status, a Swedish text and no 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from gateway.app import create_app
from gateway.settings import AuthMode, Settings
from gateway.store.models import ResourceHead
from tests.support.fhir_data import FHIR_JSON, patient, personnummer


def _outcome(response: Any, status: int) -> list[dict[str, Any]]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert response.headers["content-type"].startswith("application/fhir+json")
    for issue in body["issue"]:
        assert issue["details"]["text"]
        assert issue["severity"] in ("error", "fatal", "warning", "information")
    issues: list[dict[str, Any]] = body["issue"]
    return issues


def _stored_count(engine: Engine) -> int:
    with engine.connect() as connection:
        query = (
            select(func.count())
            .select_from(ResourceHead)
            .where(ResourceHead.res_type != "AuditEvent")
        )
        return int(connection.execute(query).scalar_one())


def test_malformed_json_is_400(client: TestClient, engine: Engine) -> None:
    response = client.post("/fhir/Patient", content=b'{"resourceType": "Pat', headers=FHIR_JSON)
    assert _outcome(response, 400)[0]["code"] == "invalid"
    assert _stored_count(engine) == 0


@pytest.mark.parametrize("raw", [b"", b"[]", b'"text"', b"\xff\xfe"])
def test_non_object_or_empty_body_is_400(client: TestClient, raw: bytes) -> None:
    _outcome(client.post("/fhir/Patient", content=raw, headers=FHIR_JSON), 400)


def test_wrong_resource_type_for_the_url_is_400(client: TestClient) -> None:
    issues = _outcome(
        client.post("/fhir/Patient", json={"resourceType": "Organization"}, headers=FHIR_JSON), 400
    )
    assert issues[0]["expression"] == ["resourceType"]


def test_unknown_element_and_wrong_type_are_422_with_paths(
    client: TestClient, engine: Engine
) -> None:
    body = patient()
    body["favouriteColour"] = "blue"
    body["identifier"][0]["value"] = 12345
    issues = _outcome(client.post("/fhir/Patient", json=body, headers=FHIR_JSON), 422)
    paths = {e for issue in issues for e in issue["expression"]}
    assert paths == {"Patient.favouriteColour", "Patient.identifier[0].value"}
    assert _stored_count(engine) == 0


def test_missing_required_element_is_422(client: TestClient) -> None:
    body = {"resourceType": "ServiceRequest", "status": "active", "intent": "order"}
    issues = _outcome(client.post("/fhir/ServiceRequest", json=body, headers=FHIR_JSON), 422)
    assert issues[0]["expression"] == ["ServiceRequest.subject"]


def test_invalid_value_never_echoes_the_input(client: TestClient) -> None:
    secret = personnummer(7)
    body = patient()
    body["birthDate"] = f"not-a-date-{secret}"
    response = client.post("/fhir/Patient", json=body, headers=FHIR_JSON)
    _outcome(response, 422)
    assert secret not in response.text


def test_oversized_body_is_413(client: TestClient, engine: Engine) -> None:
    body = patient()
    body["name"][0]["text"] = "x" * (300 * 1024)
    _outcome(client.post("/fhir/Patient", json=body, headers=FHIR_JSON), 413)
    assert _stored_count(engine) == 0


def test_oversized_body_without_content_length_is_413(client: TestClient) -> None:
    def chunks() -> Any:
        for _ in range(300):
            yield b" " * 1024

    response = client.post("/fhir/Patient", content=chunks(), headers=FHIR_JSON)
    _outcome(response, 413)


def test_too_deeply_nested_json_is_400(client: TestClient) -> None:
    nested: Any = "x"
    for _ in range(100):
        nested = [nested]
    body = patient()
    body["x"] = nested
    _outcome(client.post("/fhir/Patient", content=json.dumps(body), headers=FHIR_JSON), 400)
    hostile = b"[" * 100_000 + b"]" * 100_000
    _outcome(client.post("/fhir/Patient", content=hostile, headers=FHIR_JSON), 400)


def test_wrong_media_type_is_415(client: TestClient) -> None:
    response = client.post(
        "/fhir/Patient", content=b"<Patient/>", headers={"content-type": "application/fhir+xml"}
    )
    _outcome(response, 415)
    response = client.post(
        "/fhir/Patient", content=json.dumps(patient()), headers={"content-type": "text/plain"}
    )
    _outcome(response, 415)


def test_plain_json_is_accepted_and_echoed(client: TestClient) -> None:
    response = client.post(
        "/fhir/Patient",
        content=json.dumps(patient()),
        headers={"content-type": "application/json", "accept": "application/json"},
    )
    assert response.status_code == 201
    assert response.headers["content-type"].startswith("application/json")
    read = client.get(f"/fhir/Patient/{response.json()['id']}", params={"_format": "json"})
    assert read.headers["content-type"].startswith("application/fhir+json")


def test_xml_is_not_acceptable(client: TestClient) -> None:
    _outcome(client.get("/fhir/metadata", params={"_format": "xml"}), 406)
    _outcome(client.get("/fhir/Patient", headers={"accept": "application/fhir+xml"}), 406)


def test_unknown_route_is_404_outcome(client: TestClient) -> None:
    _outcome(client.get("/fhir/Patient/1/_history/1/extra"), 404)
    _outcome(client.get("/nowhere"), 404)


def test_no_authentication_configured_refuses_with_401(settings: Settings, engine: Engine) -> None:
    app: FastAPI = create_app(
        settings.model_copy(update={"auth_mode": AuthMode.NONE}), engine=engine
    )
    with TestClient(app) as unauthenticated:
        response = unauthenticated.get("/fhir/Patient")
        issues = _outcome(response, 401)
        assert issues[0]["code"] == "login"
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert unauthenticated.get("/fhir/metadata").status_code == 200


def test_security_headers_and_request_id(client: TestClient) -> None:
    response = client.get("/fhir/metadata")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-request-id"]


def test_a_database_that_does_not_answer_is_503_not_500() -> None:
    """The database down is the service unavailable: 503 with Retry-After, in Swedish."""
    from tests.support.live_server import free_port

    nowhere = f"postgresql+psycopg://kv:kv@127.0.0.1:{free_port()}/kv"  # nothing listens
    app = create_app(
        Settings(
            database_url=nowhere,  # type: ignore[arg-type]
            auth_mode=AuthMode.DEMO,
            delivery_worker_in_process=False,
            journal_poll_seconds=0,
        )
    )
    with TestClient(app, raise_server_exceptions=False) as http:
        for method, path in (("GET", "/fhir/Patient"), ("POST", "/fhir/Patient")):
            response = http.request(method, path, json=patient(61), headers=FHIR_JSON)
            issue = _outcome(response, 503)[0]
            assert issue["code"] == "transient"
            assert "databas" in issue["details"]["text"]
            assert response.headers["retry-after"] == "5"
            assert personnummer(61) not in response.text
        assert http.get("/readyz").status_code == 503


@pytest.mark.parametrize(
    "path",
    [
        "/fhir/Patient?_count=%C2%B2",  # a superscript two: a digit to Python, not to SQL
        "/fhir/Patient?_offset=99999999999999999999999",
        "/fhir/Patient/_history?_count=%C2%B2",
        "/fhir/Patient?_lastUpdated=9999-12-31",
        "/fhir/Patient?_lastUpdated=0001-01-01T00:00:00%2B01:00",
        "/fhir/Patient/_history?_since=9999-12-31",
        "/fhir/Patient?name=a%00b",
        "/fhir/Patient?_id=a%00b",
    ],
)
def test_odd_numbers_dates_and_characters_in_a_search_never_500(
    client: TestClient, path: str
) -> None:
    response = client.get(path)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        _outcome(response, 400)


def test_odd_version_numbers_are_refused_not_500(client: TestClient) -> None:
    created = client.post("/fhir/Patient", json=patient(7), headers=FHIR_JSON)
    assert created.status_code == 201, created.text
    url = f"/fhir/Patient/{created.json()['id']}"
    _outcome(client.get(f"{url}/_history/%C2%B2"), 400)
    huge = {**created.json(), "gender": "female"}
    refused = client.put(url, json=huge, headers={**FHIR_JSON, "If-Match": 'W/"9' + "9" * 22 + '"'})
    issue = _outcome(refused, 412)[0]
    assert "9999" not in issue.get("diagnostics", ""), "the header is not echoed"


def test_a_number_too_long_to_read_is_400(client: TestClient, engine: Engine) -> None:
    before = _stored_count(engine)
    body = json.dumps(patient(8))[:-1] + ', "multipleBirthInteger": ' + "9" * 5000 + "}"
    _outcome(client.post("/fhir/Patient", content=body, headers=FHIR_JSON), 400)
    assert _stored_count(engine) == before


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"fullUrl": {"x": 1}}, "Bundle.entry[0].fullUrl"),
        ({"request": {"method": ["POST"], "url": "Patient"}}, "Bundle.entry[0].request"),
        (
            {"request": {"method": "POST", "url": "Patient", "ifNoneExist": 5}},
            "Bundle.entry[0].request.ifNoneExist",
        ),
    ],
)
def test_mistyped_bundle_entries_are_400_at_the_entry(
    client: TestClient, engine: Engine, change: dict[str, Any], where: str
) -> None:
    entry = {
        "fullUrl": "urn:uuid:6f1d1a36-0000-4000-8000-000000000001",
        "resource": patient(9),
        "request": {"method": "POST", "url": "Patient"},
        **change,
    }
    before = _stored_count(engine)
    for kind in ("batch", "transaction"):
        bundle = {"resourceType": "Bundle", "type": kind, "entry": [entry]}
        issue = _outcome(client.post("/fhir", json=bundle, headers=FHIR_JSON), 400)[0]
        assert issue["expression"] == [where]
    assert _stored_count(engine) == before


def test_two_entries_with_one_full_url_are_400(client: TestClient, engine: Engine) -> None:
    same = "urn:uuid:6f1d1a36-0000-4000-8000-000000000002"
    entries = [
        {
            "fullUrl": same,
            "resource": patient(n),
            "request": {"method": "POST", "url": "Patient"},
        }
        for n in (10, 11)
    ]
    before = _stored_count(engine)
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    issue = _outcome(client.post("/fhir", json=bundle, headers=FHIR_JSON), 400)[0]
    assert issue["expression"] == ["Bundle.entry[1].fullUrl"]
    assert _stored_count(engine) == before


def _twice(resource: dict[str, Any], element: str, first: str) -> str:
    """``resource`` as JSON text, its first ``"element": ...`` preceded by ``"element": first``."""
    text = json.dumps(resource)
    key = f'"{element}": '
    assert key in text
    return text.replace(key, f"{key}{json.dumps(first)}, {key}", 1)


def test_a_key_twice_in_one_object_is_400_wherever_it_is(
    client: TestClient, engine: Engine
) -> None:
    """A proxy or the sender's own validator may read the first value, Python the last:
    the body is refused, in a resource, a Bundle entry, $validate and $submit alike."""
    before = _stored_count(engine)
    first, last = personnummer(21), personnummer(22)
    entry = {"resource": patient(22), "request": {"method": "POST", "url": "Patient"}}
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}
    cases = [
        ("/fhir/Patient", _twice(patient(22), "value", first), "Patient.identifier[0].value"),
        ("/fhir", _twice(bundle, "value", first), "Bundle.entry[0].resource.identifier[0].value"),
        ("/fhir/Patient/$validate", _twice(patient(22), "family", "X"), "Patient.name[0].family"),
        (
            "/fhir/ServiceRequest/$submit",
            _twice({**bundle, "type": "batch"}, "type", "transaction"),
            "Bundle.type",
        ),
        (
            "/fhir/Patient",
            '{"resourceType": "Patient", "active": true, "active": false}',
            "Patient.active",
        ),
    ]
    for path, raw, where in cases:
        response = client.post(path, content=raw, headers=FHIR_JSON)
        (issue,) = _outcome(response, 400)
        assert issue["code"] == "structure", path
        assert issue["expression"] == [where], path
        assert "två gånger" in issue["details"]["text"]
        assert first not in response.text
        assert last not in response.text
    assert _stored_count(engine) == before


def test_a_key_twice_that_is_no_element_name_is_not_repeated(client: TestClient) -> None:
    key = personnummer(23)
    raw = json.dumps(patient(23))[:-1] + f', "{key}": 1, "{key}": 2}}'
    response = client.post("/fhir/Patient", content=raw, headers=FHIR_JSON)
    (issue,) = _outcome(response, 400)
    assert issue["code"] == "structure"
    assert "expression" not in issue
    assert key not in response.text
