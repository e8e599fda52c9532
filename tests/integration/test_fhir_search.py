"""Search: every parameter type, modifiers, sorting, paging and strict handling."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gateway.validation.identifiers import SYSTEM_PERSONNUMMER
from tests.support.fhir_data import FHIR_JSON, organization, patient, personnummer, service_request


def _create(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/fhir/{body['resourceType']}", json=body, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _ids(client: TestClient, path: str, **params: Any) -> set[str]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return {e["resource"]["id"] for e in response.json()["entry"] if e["search"]["mode"] == "match"}


def test_token_search_with_and_without_system(client: TestClient) -> None:
    anna = _create(client, patient(1))
    _create(client, patient(2))
    number = personnummer(1)
    assert _ids(client, "/fhir/Patient", identifier=f"{SYSTEM_PERSONNUMMER}|{number}") == {
        anna["id"]
    }
    assert _ids(client, "/fhir/Patient", identifier=number) == {anna["id"]}
    assert _ids(client, "/fhir/Patient", identifier=f"http://other|{number}") == set()
    assert len(_ids(client, "/fhir/Patient", identifier=f"{SYSTEM_PERSONNUMMER}|")) == 2


def test_or_values_and_and_parameters(client: TestClient) -> None:
    a = _create(client, service_request("Patient/a", status="active"))
    b = _create(client, service_request("Patient/b", status="draft"))
    _create(client, service_request("Patient/c", status="revoked"))
    assert _ids(client, "/fhir/ServiceRequest", status="active,draft") == {a["id"], b["id"]}
    assert _ids(client, "/fhir/ServiceRequest", status="active", subject="Patient/b") == set()


def test_reference_search_typed_and_plain(client: TestClient) -> None:
    one = _create(client, service_request("Patient/p1"))
    _create(client, service_request("Patient/p2"))
    assert _ids(client, "/fhir/ServiceRequest", subject="Patient/p1") == {one["id"]}
    assert _ids(client, "/fhir/ServiceRequest", subject="p1") == {one["id"]}
    assert _ids(client, "/fhir/ServiceRequest", subject="http://testserver/fhir/Patient/p1") == {
        one["id"]
    }
    assert client.get("/fhir/ServiceRequest", params={"subject": "Task/p1"}).status_code == 400


def test_date_prefixes(client: TestClient) -> None:
    early = _create(client, service_request(authoredOn="2026-01-15"))
    late = _create(client, service_request(authoredOn="2026-03-10T12:00:00+01:00"))
    path = "/fhir/ServiceRequest"
    assert _ids(client, path, authored="2026-01") == {early["id"]}
    assert _ids(client, path, authored="2026") == {early["id"], late["id"]}
    assert _ids(client, path, authored="gt2026-02-01") == {late["id"]}
    assert _ids(client, path, authored="lt2026-02-01") == {early["id"]}
    assert _ids(client, path, authored="ge2026-03-10") == {late["id"]}
    assert _ids(client, path, authored="le2026-01-15") == {early["id"]}
    assert _ids(client, path, authored="ne2026-01-15") == {late["id"]}
    assert _ids(client, path, authored="2026-03-10T11:00:00Z") == {late["id"]}
    assert _ids(client, path, authored=["ge2026-01-01", "lt2026-02-01"]) == {early["id"]}
    bad = client.get(path, params={"authored": "15 januari"})
    assert bad.status_code == 400
    assert bad.json()["issue"][0]["expression"] == ["ServiceRequest.authoredOn"]


def test_string_search_is_prefix_case_and_accent_insensitive(client: TestClient) -> None:
    jonkoping = _create(client, organization("Vårdcentralen Jönköping"))
    _create(client, organization("Hälsocentralen Gävle"))
    assert _ids(client, "/fhir/Organization", name="vardcentralen") == {jonkoping["id"]}
    assert _ids(client, "/fhir/Organization", name="VÅRDC") == {jonkoping["id"]}
    assert _ids(client, "/fhir/Organization", name="jonkoping") == set()
    assert _ids(client, "/fhir/Organization", **{"name:contains": "jonkoping"}) == {jonkoping["id"]}
    exact = {"name:exact": "Vårdcentralen Jönköping"}
    assert _ids(client, "/fhir/Organization", **exact) == {jonkoping["id"]}
    for near in ("vårdcentralen jönköping", "Vardcentralen Jonkoping", "Vårdcentralen"):
        assert _ids(client, "/fhir/Organization", **{"name:exact": near}) == set(), near
    assert _ids(client, "/fhir/Organization", **{"name:contains": "%"}) == set()


def test_missing_and_not_modifiers(client: TestClient) -> None:
    with_date = _create(client, service_request(authoredOn="2026-01-15", status="active"))
    without = _create(client, service_request(status="draft"))
    path = "/fhir/ServiceRequest"
    assert _ids(client, path, **{"authored:missing": "true"}) == {without["id"]}
    assert _ids(client, path, **{"authored:missing": "false"}) == {with_date["id"]}
    assert _ids(client, path, **{"status:not": "active"}) == {without["id"]}
    assert client.get(path, params={"authored:missing": "maybe"}).status_code == 400
    assert client.get(path, params={"authored:exact": "2026"}).status_code == 400


def test_a_boolean_takes_true_or_false_and_nothing_else(client: TestClient) -> None:
    on = _create(client, organization("Vårdcentralen Öppen", active=True))
    off = _create(client, organization("Vårdcentralen Stängd", active=False))
    path = "/fhir/Organization"
    assert _ids(client, path, active="true") == {on["id"]}
    assert _ids(client, path, active="false") == {off["id"]}
    assert _ids(client, path, active="true,false") == {on["id"], off["id"]}
    assert _ids(client, path, **{"active:not": "true"}) == {off["id"]}
    for value in ("maybe", "TRUE", "1", "true,maybe", "|true"):
        for key in ("active", "active:not"):
            bad = client.get(path, params={key: value})
            assert bad.status_code == 400, (key, value, bad.text)
            issue = bad.json()["issue"][0]
            assert issue["code"] == "invalid"
            assert issue["details"]["text"] == "Sökparametern active tar värdet true eller false."
            assert issue["expression"] == ["Organization.active"]


def test_id_and_last_updated(client: TestClient) -> None:
    first = _create(client, organization("A"))
    second = _create(client, organization("B"))
    assert _ids(client, "/fhir/Organization", _id=f"{first['id']},{second['id']}") == {
        first["id"],
        second["id"],
    }
    stamp = second["meta"]["lastUpdated"]
    assert _ids(client, "/fhir/Organization", _lastUpdated=f"ge{stamp}") == {second["id"]}
    assert _ids(client, "/fhir/Organization", _lastUpdated=f"lt{stamp}") == {first["id"]}


def test_sorting(client: TestClient) -> None:
    for day in ("2026-01-03", "2026-01-01", "2026-01-02"):
        _create(client, service_request(authoredOn=day))
    bundle = client.get("/fhir/ServiceRequest", params={"_sort": "-authored"}).json()
    assert [e["resource"]["authoredOn"] for e in bundle["entry"]] == [
        "2026-01-03",
        "2026-01-02",
        "2026-01-01",
    ]
    bundle = client.get("/fhir/ServiceRequest", params={"_sort": "authored"}).json()
    assert [e["resource"]["authoredOn"] for e in bundle["entry"]] == [
        "2026-01-01",
        "2026-01-02",
        "2026-01-03",
    ]
    newest_first = client.get("/fhir/ServiceRequest", params={"_sort": "-_lastUpdated"}).json()
    assert newest_first["entry"][0]["resource"]["authoredOn"] == "2026-01-02"
    assert client.get("/fhir/ServiceRequest", params={"_sort": "subject"}).status_code == 400


def test_paging_walks_every_result_once(client: TestClient) -> None:
    created = {_create(client, organization(f"Enhet {i:02d}"))["id"] for i in range(25)}
    seen: list[str] = []
    url: str | None = "/fhir/Organization?_count=10"
    pages = 0
    while url:
        bundle = client.get(url.replace("http://testserver", "")).json()
        assert bundle["total"] == 25
        seen.extend(e["resource"]["id"] for e in bundle["entry"])
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
        pages += 1
    assert pages == 3
    assert len(seen) == 25
    assert set(seen) == created


def test_count_is_capped_and_validated(client: TestClient) -> None:
    assert client.get("/fhir/Organization", params={"_count": "-1"}).status_code == 400
    assert client.get("/fhir/Organization", params={"_count": "abc"}).status_code == 400
    bundle = client.get("/fhir/Organization", params={"_count": "100000"}).json()
    assert "_count=200" in bundle["link"][0]["url"]


def test_total_can_be_switched_off(client: TestClient) -> None:
    _create(client, organization())
    bundle = client.get("/fhir/Organization", params={"_total": "none"}).json()
    assert "total" not in bundle
    assert len(bundle["entry"]) == 1


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [
        ("_lastUpdated", "ge2026-01-01T00:00:00+25:00", "Datumet i sökningen har fel format."),
        ("_lastUpdated", "2026-01-01T00:00:00+14:01", "Datumet i sökningen har fel format."),
        ("_lastUpdated", "2026-01-01T00:00:00-01:60", "Datumet i sökningen har fel format."),
        ("_sort", "--name", "Parametern _sort ska vara en lista med parameternamn"),
        ("_sort", "name,", "Parametern _sort ska vara en lista med parameternamn"),
        ("_sort", "-", "Parametern _sort ska vara en lista med parameternamn"),
        ("_total", "bogus", "Parametern _total tar värdet none, estimate eller accurate."),
        ("_total", "NONE", "Parametern _total tar värdet none, estimate eller accurate."),
        ("_count", "1.5", "Parametern _count ska vara ett heltal som är minst 0."),
        ("_count", "-1", "Parametern _count ska vara ett heltal som är minst 0."),
    ],
)
def test_odd_control_values_are_400_not_ignored(
    client: TestClient, name: str, value: str, text: str
) -> None:
    for lenient in (False, True):  # a bad value of a known parameter is never ignored
        headers = {"prefer": "handling=lenient"} if lenient else {}
        response = client.get("/fhir/Organization", params={name: value}, headers=headers)
        assert response.status_code == 400, (name, value, response.text)
        (issue,) = response.json()["issue"]
        assert issue["code"] == "invalid"
        assert issue["details"]["text"].startswith(text)
        assert len(value) < 3 or value not in response.text  # ("-" is in any text)


def test_offsets_of_up_to_fourteen_hours_and_every_total_are_taken(client: TestClient) -> None:
    created = _create(client, organization())
    for stamp in ("2000-01-01T00:00:00+14:00", "2000-01-01T00:00:00-14:00", "2000-01-01T00:00Z"):
        assert _ids(client, "/fhir/Organization", _lastUpdated=f"ge{stamp}") == {created["id"]}
    for total in ("none", "estimate", "accurate"):
        bundle = client.get("/fhir/Organization", params={"_total": total}).json()
        assert ("total" in bundle) is (total != "none"), total
    assert _ids(client, "/fhir/Organization", _sort="-_lastUpdated,name") == {created["id"]}


def test_unknown_parameter_strict_by_default_lenient_on_request(client: TestClient) -> None:
    _create(client, organization())
    strict = client.get("/fhir/Organization", params={"nmae": "x"})
    assert strict.status_code == 400
    assert strict.json()["issue"][0]["details"]["text"]
    lenient = client.get(
        "/fhir/Organization", params={"nmae": "x"}, headers={"prefer": "handling=lenient"}
    )
    assert lenient.status_code == 200
    outcome = [e for e in lenient.json()["entry"] if e["search"]["mode"] == "outcome"]
    assert "nmae" in outcome[0]["resource"]["issue"][0]["diagnostics"]


def test_search_by_post(client: TestClient) -> None:
    org = _create(client, organization("Postad"))
    response = client.post(
        "/fhir/Organization/_search",
        content="name=postad",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert [e["resource"]["id"] for e in response.json()["entry"]] == [org["id"]]
    assert client.post("/fhir/Organization/_search", json={}, headers=FHIR_JSON).status_code == 415


TASK = {"resourceType": "Task", "status": "requested", "intent": "order"}
ENDPOINT = {
    "resourceType": "Endpoint",
    "status": "active",
    "connectionType": {"system": "s", "code": "inbox"},
    "payloadType": [{"text": "x"}],
    "address": "https://x",
}
CONSENT = {
    "resourceType": "Consent",
    "status": "active",
    "scope": {"text": "x"},
    "category": [{"text": "x"}],
}


@pytest.mark.parametrize(
    ("base", "element", "param", "value"),
    [
        (
            TASK,
            {"businessStatus": {"coding": [{"system": "s", "code": "besok-bokat"}]}},
            "business-status",
            "s|besok-bokat",
        ),
        (TASK, {"focus": {"reference": "ServiceRequest/sr1"}}, "focus", "ServiceRequest/sr1"),
        (TASK, {"owner": {"reference": "Organization/vc1"}}, "owner", "Organization/vc1"),
        (TASK, {"lastModified": "2026-05-01T10:00:00Z"}, "modified", "2026-05-01"),
        (
            TASK,
            {"basedOn": [{"reference": "ServiceRequest/sr1"}]},
            "based-on",
            "ServiceRequest/sr1",
        ),
        (TASK, {"for": {"reference": "Patient/p1"}}, "patient", "Patient/p1"),
        (
            {"resourceType": "QuestionnaireResponse", "status": "completed"},
            {"questionnaire": "https://kv-gateway.se/fhir/Questionnaire/q|1.0.0"},
            "questionnaire",
            "https://kv-gateway.se/fhir/Questionnaire/q",
        ),
        (
            CONSENT,
            {
                "provision": {
                    "actor": [
                        {"role": {"text": "r"}, "reference": {"reference": "Organization/k1"}}
                    ]
                }
            },
            "actor",
            "Organization/k1",
        ),
        (
            ENDPOINT,
            {"connectionType": {"system": "s", "code": "rivta"}},
            "connection-type",
            "rivta",
        ),
        (
            ENDPOINT,
            {"managingOrganization": {"reference": "Organization/vc1"}},
            "organization",
            "vc1",
        ),
        (
            {"resourceType": "Organization"},
            {"partOf": {"reference": "Organization/region-01"}},
            "partof",
            "Organization/region-01",
        ),
        (
            {"resourceType": "Organization"},
            {"type": [{"coding": [{"system": "t", "code": "vardcentral"}]}]},
            "type",
            "t|vardcentral",
        ),
        (
            {"resourceType": "PractitionerRole"},
            {"organization": {"reference": "Organization/k1"}},
            "organization",
            "Organization/k1",
        ),
        (
            {"resourceType": "Communication", "status": "completed"},
            {"partOf": [{"reference": "Task/t1"}]},
            "part-of",
            "Task/t1",
        ),
    ],
)
def test_declared_parameters_find_their_resource(
    app: FastAPI,
    client: TestClient,
    base: dict[str, Any],
    element: dict[str, Any],
    param: str,
    value: str,
) -> None:
    # Answers and messages are made by the workflow, not by a plain create: store them
    # directly; what is tested here is the search index.
    if base["resourceType"] in WORKFLOW_MADE:
        _store(app, base)  # a decoy without the searched element (or with another value)
        created = _store(app, {**base, **element})
    else:
        _create(client, base)
        created = _create(client, {**base, **element})
    assert _ids(client, f"/fhir/{base['resourceType']}", **{param: value}) == {created["id"]}


WORKFLOW_MADE = {"QuestionnaireResponse", "Communication"}


def _store(app: FastAPI, body: dict[str, Any]) -> dict[str, Any]:
    from gateway.store.resources import ResourceStore

    with app.state.session_factory() as session, session.begin():
        stored = ResourceStore(session).create(body)
    assert stored.body is not None
    return stored.body
