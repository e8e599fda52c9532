"""Transaction entries: what an entry's request url may name, and which entry an error is at."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gateway.security.caller import PartyKind
from tests.support.auth import bearer, register_client
from tests.support.fhir_data import FHIR_JSON, organization, patient

KOMMUN_A = "Organization/kommun-0180"
KOMMUN_B = "Organization/kommun-0680"
ENTRY_URN = "urn:uuid:11111111-1111-4111-8111-111111111111"


def _kommun(app: FastAPI, http: TestClient, party: str) -> dict[str, str]:
    identity = register_client(app, party, PartyKind.KOMMUN)
    return {**bearer(http, identity), **FHIR_JSON}


def _consent(reference: str) -> dict[str, Any]:
    return {
        "resourceType": "Consent",
        "status": "active",
        "scope": {"text": "patient-privacy"},
        "category": [{"text": "samtycke"}],
        "patient": {"reference": reference},
    }


def _transaction(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}


@pytest.mark.parametrize(
    ("method", "url_of", "reference_of"),
    [
        # The probe: a GET entry's url names A's Patient after a fragment, and the Consent
        # names it the same way (the search index reads the Patient out of it).
        ("GET", "http://x/Organization/{org}#/Patient/{hers}", "same"),
        ("GET", "http://x/Organization/{org}#/Patient/{hers}", "urn"),
        ("PUT", "http://x/Organization/{org}#/Patient/{hers}", "same"),
        ("GET", "Organization/{org}#/Patient/{hers}", "same"),
        ("GET", "//x/Patient/{hers}", "same"),
    ],
)
def test_an_entry_url_with_a_base_or_fragment_is_400_and_exempts_nothing(
    app: FastAPI,
    anonymous: TestClient,
    client: TestClient,
    method: str,
    url_of: str,
    reference_of: str,
) -> None:
    org = client.post("/fhir/Organization", json=organization(), headers=FHIR_JSON).json()
    a, b = _kommun(app, anonymous, KOMMUN_A), _kommun(app, anonymous, KOMMUN_B)
    hers = anonymous.post("/fhir/Patient", json=patient(21), headers=a).json()["id"]
    url = url_of.format(org=org["id"], hers=hers)
    first: dict[str, Any] = {
        "fullUrl": ENTRY_URN,
        "request": {"method": method, "url": url},
        "resource": {**org, "name": "Nytt namn"}
        if method == "PUT"
        else {"resourceType": "Organization"},
    }
    forged = _consent(url if reference_of == "same" else ENTRY_URN)
    second = {"request": {"method": "POST", "url": "Consent"}, "resource": forged}

    response = anonymous.post("/fhir", json=_transaction(first, second), headers=b)

    assert response.status_code == 400, response.text
    (issue,) = response.json()["issue"]
    assert issue["expression"] == ["Bundle.entry[0].request.url"]
    assert issue["details"]["text"]
    assert hers not in response.text
    assert anonymous.get("/fhir/Consent", params={"patient": hers}, headers=a).json()["total"] == 0
    assert anonymous.get("/fhir/Consent", headers=b).json()["total"] == 0


def test_a_get_entry_with_a_resource_stands_for_nothing(
    app: FastAPI, anonymous: TestClient, client: TestClient
) -> None:
    """A GET entry's fullUrl names no resource of the transaction, whatever it carries:
    a reference to it is refused as one to nothing."""
    org = client.post("/fhir/Organization", json=organization(), headers=FHIR_JSON).json()
    b = _kommun(app, anonymous, KOMMUN_B)
    read = {
        "fullUrl": ENTRY_URN,
        "request": {"method": "GET", "url": f"Organization/{org['id']}"},
        "resource": {"resourceType": "Organization"},
    }
    naming_it = {"request": {"method": "POST", "url": "Consent"}, "resource": _consent(ENTRY_URN)}
    response = anonymous.post("/fhir", json=_transaction(read, naming_it), headers=b)
    assert response.status_code == 400, response.text
    assert response.json()["issue"][0]["expression"] == [
        "Bundle.entry[1].resource.patient.reference"
    ]


def test_references_to_what_the_transaction_writes_still_resolve(
    app: FastAPI, anonymous: TestClient
) -> None:
    """The legitimate forms: a urn:uuid fullUrl of a create, and the fullUrl of an update
    of one's own record, whose Type/id a reference may also name directly."""
    b = _kommun(app, anonymous, KOMMUN_B)
    own = anonymous.post("/fhir/Patient", json=patient(22), headers=b).json()
    full_url = f"http://testserver/fhir/Patient/{own['id']}"
    bundle = _transaction(
        {"request": {"method": "POST", "url": "Consent"}, "resource": _consent(ENTRY_URN)},
        {"request": {"method": "POST", "url": "Consent"}, "resource": _consent(full_url)},
        {
            "fullUrl": ENTRY_URN,
            "request": {"method": "POST", "url": "Patient"},
            "resource": patient(23),
        },
        {
            "fullUrl": full_url,
            "request": {"method": "PUT", "url": f"/Patient/{own['id']}"},
            "resource": {**own, "active": True},
        },
    )
    response = anonymous.post("/fhir", json=bundle, headers=b)
    assert response.status_code == 200, response.text
    new, renamed, created, updated = response.json()["entry"]
    assert new["resource"]["patient"]["reference"] == f"Patient/{created['resource']['id']}"
    assert renamed["resource"]["patient"]["reference"] == f"Patient/{own['id']}"
    assert updated["response"]["status"] == "200 OK"


def test_a_failing_entry_is_reported_where_it_stands_not_where_it_runs(
    client: TestClient,
) -> None:
    """Entries run POST before PUT: the failing POST is entry 1 though it ran first."""
    existing = client.post("/fhir/Patient", json=patient(24), headers=FHIR_JSON).json()
    bundle = _transaction(
        {
            "request": {"method": "PUT", "url": f"Patient/{existing['id']}"},
            "resource": {**existing, "active": True},
        },
        {"request": {"method": "POST", "url": "Patient"}, "resource": patient(25, gender="bogus")},
    )
    response = client.post("/fhir", json=bundle, headers=FHIR_JSON)
    assert response.status_code == 422, response.text
    assert response.json()["issue"][0]["expression"] == ["Bundle.entry[1].resource.gender"]
    later = _transaction(
        {"request": {"method": "GET", "url": "Patient/finns-inte"}},
        {
            "request": {"method": "PUT", "url": f"Patient/{existing['id']}"},
            "resource": {**existing, "active": True},
        },
    )
    response = client.post("/fhir", json=later, headers=FHIR_JSON)
    assert response.status_code == 404, response.text
    assert response.json()["issue"][0]["expression"] == ["Bundle.entry[0]"]
    assert client.get(f"/fhir/Patient/{existing['id']}").json()["meta"]["versionId"] == "1"
