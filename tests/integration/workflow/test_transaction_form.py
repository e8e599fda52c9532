"""The kommun's other form of a request: a transaction Bundle on POST /fhir."""

from __future__ import annotations

from typing import Any

from tests.integration.workflow.conftest import ANNA, GAVLE, JONKOPING_VC, World
from tests.support.fhir_data import FHIR_JSON
from tests.support.submissions import CASE_SYSTEM, CONSENT, REQUEST, submission


def _post(world: World, bundle: dict[str, Any]) -> Any:
    return world.http.post("/fhir", json=bundle, headers={**world.kommun, **FHIR_JSON})


def _request_entry(answer: dict[str, Any], sent: dict[str, Any]) -> dict[str, Any]:
    index = [e["fullUrl"] for e in sent["entry"]].index(REQUEST)
    entry: dict[str, Any] = answer["entry"][index]
    return entry


def test_a_kommuns_transaction_is_submitted_like_submit(world: World) -> None:
    sent = submission(ANNA.personnummer, GAVLE, case_id="tx-1")
    response = _post(world, sent)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["type"] == "transaction-response"
    assert len(answer["entry"]) == len(sent["entry"])
    request_entry = _request_entry(answer, sent)
    assert request_entry["response"]["status"] == "201 Created"
    assert "/fhir/ServiceRequest/" in request_entry["response"]["location"]
    task_ref = request_entry["response"]["outcome"]["issue"][0]["diagnostics"]
    assert task_ref.startswith("Task/")
    assert task_ref in request_entry["response"]["outcome"]["issue"][0]["details"]["text"]

    task = world.as_kommun("GET", f"/fhir/{task_ref}").json()
    assert task["status"] == "requested"
    assert task["owner"] == {"reference": JONKOPING_VC}, "routed like $submit"
    request_ref = request_entry["fullUrl"].split("/fhir/", 1)[1]
    assert task["focus"] == {"reference": request_ref}
    assert world.deliver() == 1
    assert len(world.peer.received) == 1


def test_an_entry_without_full_url_is_answered_with_what_was_stored(world: World) -> None:
    # A create that nothing refers to may leave out its fullUrl (Bundle.entry.fullUrl);
    # its answer still names what was stored.
    sent = submission(ANNA.personnummer, GAVLE, case_id="tx-no-url")
    consent_index = [e["fullUrl"] for e in sent["entry"]].index(CONSENT)
    del sent["entry"][consent_index]["fullUrl"]
    sent["entry"][[e.get("fullUrl") for e in sent["entry"]].index(REQUEST)]["resource"].pop(
        "supportingInfo"
    )
    response = _post(world, sent)

    assert response.status_code == 200, response.text
    answered = response.json()["entry"]
    assert [e["response"]["status"] for e in answered] == ["201 Created"] * len(sent["entry"])
    consent_entry = answered[consent_index]
    location = consent_entry["response"]["location"]
    assert "/fhir/Consent/" in location
    consent_ref = consent_entry["fullUrl"].split("/fhir/", 1)[1]
    assert location.split("/fhir/", 1)[1].startswith(f"{consent_ref}/_history/")
    stored = world.as_kommun("GET", f"/fhir/{consent_ref}")
    assert stored.status_code == 200, stored.text
    assert stored.json()["resourceType"] == "Consent"


def test_the_same_transaction_again_creates_nothing(world: World) -> None:
    first = _post(world, submission(ANNA.personnummer, GAVLE, case_id="tx-2")).json()
    again = submission(ANNA.personnummer, GAVLE, case_id="tx-2-annat")
    index = [e["fullUrl"] for e in again["entry"]].index(REQUEST)
    again["entry"][index]["request"]["ifNoneExist"] = f"identifier={CASE_SYSTEM}|tx-2"
    response = _post(world, again)

    assert response.status_code == 200, response.text
    repeated = _request_entry(response.json(), again)
    assert repeated["response"]["status"] == "200 OK"
    original = _request_entry(first, submission(ANNA.personnummer, GAVLE))
    assert repeated["fullUrl"] == original["fullUrl"]
    same_task = repeated["response"]["outcome"]["issue"][0]["diagnostics"]
    assert same_task == original["response"]["outcome"]["issue"][0]["diagnostics"]
    assert world.as_kommun("GET", "/fhir/Task").json()["total"] == 1
    assert world.as_kommun("GET", "/fhir/ServiceRequest").json()["total"] == 1


def test_submit_honours_if_none_exist_too(world: World) -> None:
    first = world.submit(submission(ANNA.personnummer, GAVLE, case_id="ine-1"))
    again = world.submit(
        submission(ANNA.personnummer, GAVLE, case_id="ine-2"),
        **{"if-none-exist": f"identifier={CASE_SYSTEM}|ine-1"},
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]


def test_a_refused_transaction_stores_nothing_and_says_why(world: World) -> None:
    refused = _post(world, submission(ANNA.personnummer, GAVLE, with_consent=False))
    assert refused.status_code == 422
    issue = refused.json()["issue"][0]
    assert "samtycke" in issue["details"]["text"]
    assert issue["expression"] == ["Bundle.entry"]

    mixed = submission(ANNA.personnummer, GAVLE, case_id="tx-3")
    mixed["entry"][0]["request"] = {"method": "PUT", "url": "Patient/anna"}
    refused = _post(world, mixed)
    assert refused.status_code == 422
    issue = refused.json()["issue"][0]
    assert issue["expression"] == ["Bundle.entry[0].request.method"]
    assert "POST" in issue["details"]["text"]
    assert world.as_kommun("GET", "/fhir/ServiceRequest").json()["total"] == 0
    assert world.as_kommun("GET", "/fhir/Task").json()["total"] == 0


def test_a_lone_service_request_from_a_kommun_is_refused_not_stored(world: World) -> None:
    sent = submission(ANNA.personnummer, GAVLE, case_id="alone-1")
    index = [e["fullUrl"] for e in sent["entry"]].index(REQUEST)
    lone = dict(sent["entry"][index]["resource"])
    lone.pop("supportingInfo")
    lone["subject"] = {"reference": "Patient/anna"}
    lone.pop("requester")

    refused = world.as_kommun("POST", "/fhir/ServiceRequest", lone)
    assert refused.status_code == 422, refused.text
    issue = refused.json()["issue"][0]
    assert "$submit" in issue["details"]["text"]
    assert issue["expression"] == ["ServiceRequest"]

    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"resource": lone, "request": {"method": "POST", "url": "ServiceRequest"}}],
    }
    answered = world.as_kommun("POST", "/fhir", batch)
    assert answered.status_code == 200, answered.text
    assert answered.json()["entry"][0]["response"]["status"].startswith("422")
    assert world.as_kommun("GET", "/fhir/ServiceRequest").json()["total"] == 0
    # The way that works still does.
    assert world.submit(sent).status_code == 201
