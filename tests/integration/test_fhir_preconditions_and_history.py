"""If-Match on update and delete, deleting twice, and what a history takes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.fhir_data import FHIR_JSON, organization


def _created(client: TestClient) -> tuple[str, dict[str, Any]]:
    response = client.post("/fhir/Organization", json=organization(), headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return f"/fhir/Organization/{body['id']}", body


def _issue(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    (issue,) = body["issue"]
    assert issue["details"]["text"]
    found: dict[str, Any] = issue
    return found


@pytest.mark.parametrize("tag", ["garbage", 'W/""', 'W/"abc"', 'W/"1", W/"2"', "", 'W/"-1"'])
def test_a_malformed_if_match_is_400_at_the_header(client: TestClient, tag: str) -> None:
    url, body = _created(client)
    for response in (
        client.put(url, json=body, headers={**FHIR_JSON, "If-Match": tag}),
        client.delete(url, headers={"If-Match": tag}),
    ):
        issue = _issue(response, 400)
        assert issue["code"] == "invalid"
        assert issue["expression"] == ["http.If-Match"]
        assert "?" not in issue.get("diagnostics", "")
    assert client.get(url).json()["meta"]["versionId"] == "1"


def test_a_malformed_if_match_in_a_bundle_is_400_at_the_entry(client: TestClient) -> None:
    url, body = _created(client)
    for method in ("PUT", "DELETE"):
        entry: dict[str, Any] = {"request": {"method": method, "url": url[6:], "ifMatch": "x"}}
        if method == "PUT":
            entry["resource"] = body
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}
        issue = _issue(client.post("/fhir", json=bundle, headers=FHIR_JSON), 400)
        assert issue["expression"] == ["Bundle.entry[0].request.ifMatch"]


def test_if_match_star_updates_what_exists_and_412_for_what_does_not(
    client: TestClient,
) -> None:
    url, body = _created(client)
    updated = client.put(url, json=body, headers={**FHIR_JSON, "If-Match": "*"})
    assert updated.status_code == 200, updated.text
    assert updated.json()["meta"]["versionId"] == "2"
    never = {**body, "id": "never-created"}
    missing = client.put(
        "/fhir/Organization/never-created", json=never, headers={**FHIR_JSON, "If-Match": "*"}
    )
    assert _issue(missing, 412)["code"] == "conflict"
    assert client.delete(url).status_code == 204
    deleted = client.put(url, json=body, headers={**FHIR_JSON, "If-Match": "*"})
    _issue(deleted, 412)
    assert client.get(url).status_code == 410


def test_delete_honours_if_match(client: TestClient) -> None:
    url, _ = _created(client)
    stale = client.delete(url, headers={"If-Match": 'W/"7"'})
    issue = _issue(stale, 412)
    assert issue["code"] == "conflict"
    assert client.get(url).status_code == 200
    assert client.delete(url, headers={"If-Match": 'W/"1"'}).status_code == 204
    assert client.get(url).status_code == 410
    # Deleted: no current version for a tag to match.
    _issue(client.delete(url, headers={"If-Match": 'W/"2"'}), 412)

    other, _ = _created(client)
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"request": {"method": "DELETE", "url": other[6:], "ifMatch": 'W/"3"'}}],
    }
    assert _issue(client.post("/fhir", json=bundle, headers=FHIR_JSON), 412)["expression"] == [
        "Bundle.entry[0]"
    ]
    assert client.get(other).status_code == 200
    assert client.delete(other, headers={"If-Match": "*"}).status_code == 204


def test_deleting_what_is_deleted_already_is_204_and_changes_nothing(
    client: TestClient,
) -> None:
    url, _ = _created(client)
    assert client.delete(url).status_code == 204
    again = client.delete(url)
    assert again.status_code == 204, again.text
    history = client.get(f"{url}/_history").json()
    assert [e["request"]["method"] for e in history["entry"]] == ["DELETE", "POST"]
    assert client.delete("/fhir/Organization/never-created").status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"_sinse": "2099-01-01T00:00:00Z"},
        {"_at": "2099-01-01T00:00:00Z"},
        {"_sort": "foo"},
        {"_since:exact": "2099-01-01T00:00:00Z"},
    ],
)
def test_history_refuses_what_it_does_not_support_unless_lenient(
    client: TestClient, params: dict[str, str]
) -> None:
    url, _ = _created(client)
    for path in ("/fhir/Organization/_history", f"{url}/_history"):
        issue = _issue(client.get(path, params=params), 400)
        assert issue["code"] == "invalid"
        lenient = client.get(path, params=params, headers={"Prefer": "handling=lenient"})
        assert lenient.status_code == 200, lenient.text
        assert lenient.json()["total"] == 1


def test_history_takes_since_count_offset_and_format(client: TestClient) -> None:
    url, _ = _created(client)
    params = {"_since": "2000-01-01", "_count": "1", "_offset": "0", "_format": "json"}
    for path in ("/fhir/Organization/_history", f"{url}/_history"):
        response = client.get(path, params=params)
        assert response.status_code == 200, response.text
        assert response.json()["total"] == 1


def test_history_pages_keep_since(client: TestClient) -> None:
    url, body = _created(client)
    for name in ("Ny", "Nyare"):
        body = client.put(url, json={**body, "name": name}, headers=FHIR_JSON).json()
    since = "2000-01-01T00:00:00+01:00"
    first = client.get(f"{url}/_history", params={"_since": since, "_count": "1"}).json()
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert "_since=2000-01-01T00%3A00%3A00%2B01%3A00" in links["self"]
    following = client.get(links["next"].removeprefix("http://testserver"))
    assert following.status_code == 200, following.text
    assert following.json()["total"] == 3
    assert "_since=" in {link["relation"]: link["url"] for link in following.json()["link"]}["self"]
