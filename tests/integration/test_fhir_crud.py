"""Create, read, vread, update, delete and history over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.security.models import AuditChainLink
from gateway.store.resources import ResourceStore
from tests.support.fhir_data import (
    FHIR_JSON,
    organization,
    patient,
    personnummer,
    service_request,
)


def _create(client: TestClient, body: dict[str, Any], **headers: str) -> Any:
    return client.post(f"/fhir/{body['resourceType']}", json=body, headers={**FHIR_JSON, **headers})


def _issue(response: Any) -> dict[str, Any]:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    issue: dict[str, Any] = body["issue"][0]
    assert issue["details"]["text"], "every issue carries a Swedish text"
    return issue


def test_create_assigns_server_id_and_returns_headers(client: TestClient) -> None:
    response = _create(client, {**patient(), "id": "client-chosen"})
    assert response.status_code == 201
    body = response.json()
    assert body["id"] != "client-chosen"
    assert body["meta"]["versionId"] == "1"
    assert response.headers["etag"] == 'W/"1"'
    assert response.headers["location"] == f"http://testserver/fhir/Patient/{body['id']}/_history/1"
    assert response.headers["last-modified"].endswith("GMT")
    assert response.headers["content-type"].startswith("application/fhir+json")


def test_read_returns_what_was_created(client: TestClient) -> None:
    created = _create(client, patient()).json()
    response = client.get(f"/fhir/Patient/{created['id']}")
    assert response.status_code == 200
    assert response.json() == created
    assert response.headers["etag"] == 'W/"1"'


def test_read_with_matching_if_none_match_is_not_modified(client: TestClient) -> None:
    created = _create(client, patient()).json()
    response = client.get(f"/fhir/Patient/{created['id']}", headers={"if-none-match": 'W/"1"'})
    assert response.status_code == 304


def test_if_none_match_takes_lists_strong_tags_and_star(client: TestClient) -> None:
    """RFC 9110 section 13.1.2: a list of tags, compared weakly, or * for any version."""
    created = _create(client, organization("Gammalt namn")).json()
    url = f"/fhir/Organization/{created['id']}"
    client.put(url, json={**created, "name": "Nytt namn"}, headers=FHIR_JSON)
    matching = ['W/"2"', '"2"', "*", 'W/"1", W/"2"', ' "7" ,, "2" ', '"a,b", W/"2"']
    for tag in matching:
        response = client.get(url, headers={"if-none-match": tag})
        assert response.status_code == 304, tag
        assert response.content == b"", tag
        assert response.headers["etag"] == 'W/"2"', tag
    # Two header lines make one list.
    lines = [("if-none-match", 'W/"1"'), ("if-none-match", 'W/"2"')]
    assert client.get(url, headers=lines).status_code == 304
    # Another version, or a header that is no list of tags, matches nothing: the resource.
    for tag in ['W/"1"', '"1", W/"3"', "garbage", 'W/"1" W/"2"', '*, W/"2"', "W/2", ""]:
        response = client.get(url, headers={"if-none-match": tag})
        assert response.status_code == 200, tag
        assert response.json()["name"] == "Nytt namn", tag
    old = client.get(f"{url}/_history/1", headers={"if-none-match": '"1"'})
    assert old.status_code == 304
    assert old.headers["etag"] == 'W/"1"'
    assert client.get(f"{url}/_history/1", headers={"if-none-match": 'W/"2"'}).status_code == 200
    client.delete(url)
    assert client.get(url, headers={"if-none-match": "*"}).status_code == 410


def test_a_read_answers_in_full_but_refuses_what_summary_or_elements_never_take(
    client: TestClient,
) -> None:
    created = _create(client, patient(32)).json()
    url = f"/fhir/Patient/{created['id']}"
    for path in (url, f"{url}/_history/1"):
        for taken in ({"_summary": "true"}, {"_summary": "false"}, {"_elements": "name,gender"}):
            response = client.get(path, params=taken)
            assert response.status_code == 200, (path, taken)
            assert response.json() == created, (path, taken)
        refused = [
            {"_summary": "bogus"},
            {"_summary": "count"},  # for a search
            {"_summary": ["true", "x"]},
            {"_elements": "name,,gender"},
            {"_elements": ""},
            {"_elements": "Patient name"},
        ]
        for odd in refused:
            response = client.get(path, params=odd)
            assert response.status_code == 400, (path, odd, response.text)
            issue = _issue(response)
            assert issue["code"] == "invalid"
            assert "Patient name" not in response.text


def _audited_reads(app: FastAPI) -> list[tuple[str, str]]:
    """(subtype, outcome) of the read and vread AuditEvents, oldest first."""
    with app.state.session_factory() as session:
        store = ResourceStore(session)
        ids = session.scalars(select(AuditChainLink.event_id).order_by(AuditChainLink.seq))
        events = [store.read("AuditEvent", i).body or {} for i in ids]
    return [
        (e["subtype"][0]["code"], e["outcome"])
        for e in events
        if e["subtype"][0]["code"] in ("read", "vread")
    ]


def test_head_answers_a_read_as_get_without_a_body(app: FastAPI, client: TestClient) -> None:
    created = _create(client, patient(31)).json()
    url = f"/fhir/Patient/{created['id']}"
    # Resource, version, metadata, and the Bundles: both histories and a search.
    for path in (
        url,
        f"{url}/_history/1",
        "/fhir/metadata",
        f"{url}/_history",
        "/fhir/Patient/_history",
        f"/fhir/Patient?_id={created['id']}",
    ):
        got, head = client.get(path), client.head(path)
        assert got.status_code == head.status_code == 200, path
        assert head.content == b"", path
        assert head.headers["content-length"] == str(len(got.content)), path
        for name in ("content-type", "etag", "last-modified"):
            assert head.headers.get(name) == got.headers.get(name), (path, name)
    assert client.head(url, headers={"if-none-match": 'W/"1"'}).status_code == 304
    # Checked and audited as a GET is: the unknown and the unauthenticated are refused.
    assert client.head("/fhir/Patient/unknown").status_code == 404
    anonymous = client.head(url, headers={"authorization": ""})
    assert anonymous.status_code == client.get(url, headers={"authorization": ""}).status_code
    assert anonymous.status_code == 401
    reads = _audited_reads(app)
    assert reads.count(("read", "0")) == 3  # GET, HEAD and the conditional HEAD
    assert reads.count(("vread", "0")) == 2
    assert ("read", "4") in reads
    # Refused as their GET is: no system-wide history, an unknown resource's history.
    for path in ("/fhir/_history", "/fhir/Patient/unknown/_history", "/fhir/Patient?x=1"):
        got, head = client.get(path), client.head(path)
        assert head.status_code == got.status_code != 200, path
        assert head.headers["content-length"] == str(len(got.content)), path


def test_prefer_return_minimal_and_operation_outcome(client: TestClient) -> None:
    minimal = _create(client, patient(), prefer="return=minimal")
    assert minimal.status_code == 201
    assert minimal.content == b""
    assert minimal.headers["location"]
    outcome = _create(client, patient(2), prefer="return=OperationOutcome")
    assert outcome.json()["resourceType"] == "OperationOutcome"
    assert outcome.json()["issue"][0]["severity"] == "information"


def test_update_makes_a_new_version_and_vread_keeps_the_old(client: TestClient) -> None:
    created = _create(client, organization("Gammalt namn")).json()
    changed = {**created, "name": "Nytt namn"}
    response = client.put(f"/fhir/Organization/{created['id']}", json=changed, headers=FHIR_JSON)
    assert response.status_code == 200
    assert response.json()["meta"]["versionId"] == "2"
    assert response.headers["etag"] == 'W/"2"'
    old = client.get(f"/fhir/Organization/{created['id']}/_history/1")
    assert old.status_code == 200
    assert old.json()["name"] == "Gammalt namn"
    assert client.get(f"/fhir/Organization/{created['id']}").json()["name"] == "Nytt namn"


def test_versioned_update_with_stale_if_match_is_412(client: TestClient) -> None:
    created = _create(client, organization()).json()
    url = f"/fhir/Organization/{created['id']}"
    first = client.put(url, json=created, headers={**FHIR_JSON, "if-match": 'W/"1"'})
    assert first.status_code == 200
    stale = client.put(url, json=created, headers={**FHIR_JSON, "if-match": 'W/"1"'})
    assert stale.status_code == 412
    assert _issue(stale)["code"] == "conflict"
    assert client.get(url).json()["meta"]["versionId"] == "2"


def test_update_with_mismatched_id_is_400(client: TestClient) -> None:
    created = _create(client, organization()).json()
    response = client.put(
        f"/fhir/Organization/{created['id']}", json={**created, "id": "other"}, headers=FHIR_JSON
    )
    assert response.status_code == 400
    assert _issue(response)["expression"] == ["Organization.id"]


def test_update_of_unknown_id_is_405_no_update_as_create(client: TestClient) -> None:
    body = {**organization(), "id": "never-created"}
    response = client.put("/fhir/Organization/never-created", json=body, headers=FHIR_JSON)
    assert response.status_code == 405
    assert client.get("/fhir/Organization/never-created").status_code == 404


def test_delete_then_gone_history_kept_and_resurrect(client: TestClient) -> None:
    created = _create(client, organization()).json()
    url = f"/fhir/Organization/{created['id']}"
    assert client.delete(url).status_code == 204
    gone = client.get(url)
    assert gone.status_code == 410
    assert _issue(gone)["code"] == "deleted"
    assert client.delete(url).status_code == 204  # a delete is idempotent
    assert client.get(f"{url}/_history/1").status_code == 200
    assert client.get(f"{url}/_history/2").status_code == 410
    history = client.get(f"{url}/_history").json()
    assert [e["request"]["method"] for e in history["entry"]] == ["DELETE", "POST"]
    assert client.get("/fhir/Organization", params={"_id": created["id"]}).json()["total"] == 0
    revived = client.put(url, json=created, headers=FHIR_JSON)
    assert revived.status_code == 200
    assert revived.json()["meta"]["versionId"] == "3"


def test_unknown_ids_versions_and_types(client: TestClient) -> None:
    assert _issue(client.get("/fhir/Patient/does-not-exist"))["code"] == "not-found"
    assert client.get("/fhir/Patient/does-not-exist").status_code == 404
    created = _create(client, patient()).json()
    assert client.get(f"/fhir/Patient/{created['id']}/_history/9").status_code == 404
    assert client.get(f"/fhir/Patient/{created['id']}/_history/x").status_code == 400
    assert client.get("/fhir/Observation/1").status_code == 404
    assert client.get("/fhir/Patient/" + "x" * 65).status_code == 400


def test_a_404_or_410_never_repeats_the_id_from_the_url(client: TestClient) -> None:
    """An id may be shaped like a personnummer, and no error may carry one."""
    number = personnummer(3)
    for res_id in (number, f"{number[:8]}-{number[8:]}"):
        url = f"/fhir/Patient/{res_id}"
        for response in (
            client.get(url),
            client.get(f"{url}/_history/1"),
            client.get(f"{url}/_history"),
            client.delete(url),
        ):
            assert response.status_code == 404, response.text
            assert res_id not in response.text
            assert number not in response.text
            issue = _issue(response)
            assert issue["code"] == "not-found"
            assert issue["diagnostics"].startswith("Patient ")
    created = _create(client, patient()).json()
    url = f"/fhir/Patient/{created['id']}"
    assert client.delete(url).status_code == 204
    for response in (client.get(url), client.get(f"{url}/_history/2")):
        assert response.status_code == 410, response.text
        assert created["id"] not in response.text
        issue = _issue(response)
        assert issue["code"] == "deleted"
        assert issue["diagnostics"].startswith("Patient ")


def test_audit_event_is_read_only(client: TestClient) -> None:
    body = {
        "resourceType": "AuditEvent",
        "type": {"code": "rest"},
        "recorded": "2026-01-01T00:00:00Z",
        "agent": [{"requestor": True}],
        "source": {"observer": {"display": "x"}},
    }
    response = client.post("/fhir/AuditEvent", json=body, headers=FHIR_JSON)
    assert response.status_code == 405
    assert client.get("/fhir/AuditEvent").status_code == 200


def test_method_not_allowed_is_an_operation_outcome(client: TestClient) -> None:
    created = _create(client, patient()).json()
    response = client.patch(f"/fhir/Patient/{created['id']}", json={}, headers=FHIR_JSON)
    assert response.status_code == 405
    assert _issue(response)["code"] == "not-supported"


def test_type_and_instance_history_with_since_and_paging(client: TestClient) -> None:
    first = _create(client, organization("A")).json()
    for name in ("B", "C"):
        client.put(
            f"/fhir/Organization/{first['id']}", json={**first, "name": name}, headers=FHIR_JSON
        )
    _create(client, organization("D"))
    history = client.get("/fhir/Organization/_history", params={"_count": 2}).json()
    assert history["type"] == "history"
    assert history["total"] == 4
    assert len(history["entry"]) == 2
    assert any(link["relation"] == "next" for link in history["link"])
    instance = client.get(f"/fhir/Organization/{first['id']}/_history").json()
    assert [e["resource"]["name"] for e in instance["entry"]] == ["C", "B", "A"]
    since = instance["entry"][0]["resource"]["meta"]["lastUpdated"]
    recent = client.get(
        f"/fhir/Organization/{first['id']}/_history", params={"_since": since}
    ).json()
    assert [e["resource"]["name"] for e in recent["entry"]] == ["C"]
    assert (
        client.get("/fhir/Organization/_history", params={"_since": "yesterday"}).status_code == 400
    )


def test_service_request_round_trip_keeps_every_element(client: TestClient) -> None:
    body = service_request(
        authoredOn="2026-11-01T10:15:00+01:00",
        note=[{"text": "Fritext"}],
        extension=[{"url": "https://kv-gateway.se/fhir/x", "valueDecimal": 12.5}],
        _status={"extension": [{"url": "https://kv-gateway.se/fhir/y", "valueString": "z"}]},
    )
    created = _create(client, body).json()
    for key in ("authoredOn", "note", "extension", "_status", "subject", "intent"):
        assert created[key] == body[key]
