"""Tenant rules: no party reads, finds or changes another party's resources."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gateway.security.caller import PartyKind
from tests.support.auth import bearer, register_client
from tests.support.fhir_data import FHIR_JSON, patient

KOMMUN_A = "Organization/kommun-0180"
KOMMUN_B = "Organization/kommun-0680"
VC_X = "Organization/vc-x"
VC_Y = "Organization/vc-y"

CASE_RESOURCES: dict[str, dict[str, Any]] = {
    "Patient": patient(3),
    "ServiceRequest": {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p"},
    },
    "Consent": {
        "resourceType": "Consent",
        "status": "active",
        "scope": {"text": "patient-privacy"},
        "category": [{"text": "samtycke"}],
    },
    "Task": {"resourceType": "Task", "status": "requested", "intent": "order"},
    "QuestionnaireResponse": {"resourceType": "QuestionnaireResponse", "status": "completed"},
    "Communication": {"resourceType": "Communication", "status": "completed"},
    "Subscription": {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "svar",
        "criteria": "Task?status=completed",
        "channel": {"type": "rest-hook", "endpoint": "https://kommun.example/hook"},
    },
}


# Requests, Tasks and answers are made by the workflow, not by a kommun's plain create:
# seed them directly.
WORKFLOW_MADE = {"ServiceRequest", "Task", "QuestionnaireResponse", "Communication"}


def seed(app: FastAPI, body: dict[str, Any], parties: set[str]) -> dict[str, Any]:
    from gateway.store.resources import ResourceStore

    with app.state.session_factory() as session, session.begin():
        store = ResourceStore(session)
        stored = store.create(body)
        store.grant(stored.resource_type, stored.id, parties)
    assert stored.body is not None
    return stored.body


class Party:
    def __init__(self, http: TestClient, headers: dict[str, str], party: str) -> None:
        self.http = http
        self.headers = headers
        self.party = party

    def get(self, url: str, **params: Any) -> Any:
        return self.http.get(url, params=params, headers=self.headers)

    def post(self, url: str, body: dict[str, Any], **headers: str) -> Any:
        return self.http.post(url, json=body, headers={**self.headers, **FHIR_JSON, **headers})

    def put(self, url: str, body: dict[str, Any]) -> Any:
        return self.http.put(url, json=body, headers={**self.headers, **FHIR_JSON})

    def delete(self, url: str) -> Any:
        return self.http.delete(url, headers=self.headers)


@pytest.fixture
def parties(app: FastAPI, anonymous: TestClient, client: TestClient) -> dict[str, Party]:
    # The directory the parties hang in, written by the operator (client fixture).
    for org_id, part_of in (
        ("region-06", None),
        ("vc-x", "region-06"),
        ("vc-y", "region-06"),
        ("region-01", None),
    ):
        body: dict[str, Any] = {"resourceType": "Organization", "id": org_id, "name": org_id}
        if part_of:
            body["partOf"] = {"reference": f"Organization/{part_of}"}
        with app.state.session_factory() as session, session.begin():
            from gateway.store.resources import ResourceStore

            ResourceStore(session).create(body, res_id=org_id)
    found: dict[str, Party] = {}
    for name, party, kind in (
        ("kommun_a", KOMMUN_A, PartyKind.KOMMUN),
        ("kommun_b", KOMMUN_B, PartyKind.KOMMUN),
        ("vc_x", VC_X, PartyKind.VARDCENTRAL),
        ("vc_y", VC_Y, PartyKind.VARDCENTRAL),
        ("region_06", "Organization/region-06", PartyKind.REGION),
        ("region_01", "Organization/region-01", PartyKind.REGION),
        ("harness", "Organization/test-harness", PartyKind.TEST_HARNESS),
        ("auditor", "Organization/auditor", PartyKind.AUDITOR),
    ):
        scopes = ("system/AuditEvent.rs",) if kind is PartyKind.AUDITOR else ("system/*.cruds",)
        identity = register_client(app, party, kind, scopes)
        found[name] = Party(anonymous, bearer(anonymous, identity, " ".join(scopes)), party)
    return found


@pytest.mark.parametrize("resource_type", sorted(CASE_RESOURCES))
def test_other_kommun_cannot_read_search_update_or_delete(
    app: FastAPI, parties: dict[str, Party], resource_type: str
) -> None:
    owner, other = parties["kommun_a"], parties["kommun_b"]
    if resource_type in WORKFLOW_MADE:
        body = seed(app, CASE_RESOURCES[resource_type], {owner.party})
    else:
        created = owner.post(f"/fhir/{resource_type}", CASE_RESOURCES[resource_type])
        assert created.status_code == 201, created.text
        body = created.json()
    url = f"/fhir/{resource_type}/{body['id']}"
    assert owner.get(url).status_code == 200
    for response in (
        other.get(url),
        other.get(f"{url}/_history/1"),
        other.get(f"{url}/_history"),
        other.put(url, body),
        other.delete(url),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["issue"][0]["code"] == "not-found"
    searched = other.get(f"/fhir/{resource_type}", _id=body["id"]).json()
    assert searched["total"] == 0
    assert searched["entry"] == []
    everything = other.get(f"/fhir/{resource_type}").json()
    assert everything["total"] == 0
    assert other.get(f"/fhir/{resource_type}/_history").json()["total"] == 0
    assert owner.get(f"/fhir/{resource_type}").json()["total"] == 1
    assert owner.get(url).json()["meta"]["versionId"] == "1"


def test_vardcentral_sees_only_the_tasks_it_owns(app: FastAPI, parties: dict[str, Party]) -> None:
    task = {**CASE_RESOURCES["Task"], "owner": {"reference": VC_X}}
    created = seed(app, task, {KOMMUN_A, VC_X})
    url = f"/fhir/Task/{created['id']}"
    assert parties["vc_x"].get(url).status_code == 200
    assert parties["vc_x"].get("/fhir/Task", owner=VC_X).json()["total"] == 1
    assert parties["vc_y"].get(url).status_code == 404
    assert parties["vc_y"].get("/fhir/Task", owner=VC_X).json()["total"] == 0
    accepted = {**created, "status": "accepted"}
    assert parties["vc_x"].put(url, accepted).status_code == 200
    assert parties["vc_y"].put(url, accepted).status_code == 404


@pytest.mark.parametrize("resource_type", ["Patient", "ServiceRequest", "Consent"])
def test_the_unit_reads_the_kommuns_records_but_never_rewrites_them(
    app: FastAPI, parties: dict[str, Party], resource_type: str
) -> None:
    """A rewrite by the unit the request is addressed to would change what the kommun
    asked and consented to, or re-address it to another party (grants follow the parties
    a version names)."""
    created = seed(app, CASE_RESOURCES[resource_type], {KOMMUN_A, VC_X})
    url = f"/fhir/{resource_type}/{created['id']}"
    unit = parties["vc_x"]
    assert unit.get(url).status_code == 200
    readdressed = {
        **created,
        "performer": [{"reference": VC_Y}],
        "organization": [{"reference": KOMMUN_B}],
    }
    if resource_type == "Patient":
        readdressed = {**created, "managingOrganization": {"reference": VC_Y}}
    for refused in (
        unit.put(url, readdressed),
        unit.post(f"/fhir/{resource_type}", CASE_RESOURCES[resource_type]),
        unit.delete(url),
    ):
        assert refused.status_code == 403, refused.text
        (issue,) = refused.json()["issue"]
        assert issue["expression"] == [resource_type]
        assert "kommunen" in issue["details"]["text"]
    assert parties["kommun_a"].get(url).json()["meta"]["versionId"] == "1"
    assert parties["vc_y"].get(url).status_code == 404
    assert parties["kommun_b"].get(url).status_code == 404
    assert (
        parties["region_06"]
        .post(f"/fhir/{resource_type}", CASE_RESOURCES[resource_type])
        .status_code
        == 403
    )


def test_a_deleted_record_is_deleted_again_only_by_whom_may_delete_it(
    app: FastAPI, parties: dict[str, Party]
) -> None:
    """A delete is idempotent for the party that may delete: it gets 204 again. Any other
    party gets what it got while the record was there (403 for the unit that reads it, 404
    for the parties that do not see it), and nothing is stored or audited as done."""
    created = seed(app, CASE_RESOURCES["Patient"], {KOMMUN_A, VC_X})
    url = f"/fhir/Patient/{created['id']}"
    others = ("vc_x", "vc_y", "kommun_b")

    def refusals() -> list[tuple[int, Any]]:
        answers = [parties[name].delete(url) for name in others]
        return [(a.status_code, a.json()["issue"] if a.content else None) for a in answers]

    def deletes_done() -> int:
        events = parties["auditor"].get("/fhir/AuditEvent", subtype="delete", outcome="0")
        return int(events.json()["total"])

    while_there = refusals()
    assert [status for status, _ in while_there] == [403, 404, 404]
    assert parties["kommun_a"].delete(url).status_code == 204
    assert refusals() == while_there
    assert parties["kommun_a"].delete(url).status_code == 204, "idempotent for the owner"
    assert deletes_done() == 2
    assert parties["kommun_a"].get(f"{url}/_history").json()["total"] == 2


def test_directory_is_shared_to_read_but_changed_only_within_ones_own_units(
    parties: dict[str, Party],
) -> None:
    vc = parties["kommun_b"].get("/fhir/Organization/vc-x")
    assert vc.status_code == 200
    body = {**vc.json(), "name": "Nytt namn"}
    assert parties["kommun_b"].put("/fhir/Organization/vc-x", body).status_code == 403
    assert parties["region_01"].put("/fhir/Organization/vc-x", body).status_code == 403
    assert parties["region_06"].put("/fhir/Organization/vc-x", body).status_code == 200
    assert (
        parties["vc_x"].put("/fhir/Organization/vc-x", {**body, "name": "Eget namn"}).status_code
        == 200
    )
    moved = {**body, "partOf": {"reference": "Organization/region-01"}}
    assert parties["vc_x"].put("/fhir/Organization/vc-x", moved).status_code == 403
    unit = {
        "resourceType": "Organization",
        "name": "Ny enhet",
        "partOf": {"reference": "Organization/region-06"},
    }
    assert parties["region_06"].post("/fhir/Organization", unit).status_code == 201
    assert parties["region_01"].post("/fhir/Organization", unit).status_code == 403
    endpoint = {
        "resourceType": "Endpoint",
        "status": "active",
        "connectionType": {"code": "inbox"},
        "payloadType": [{"text": "x"}],
        "address": "https://x",
        "managingOrganization": {"reference": VC_X},
    }
    assert parties["region_06"].post("/fhir/Endpoint", endpoint).status_code == 201
    assert parties["region_01"].post("/fhir/Endpoint", endpoint).status_code == 403
    person = parties["vc_x"].post("/fhir/Practitioner", {"resourceType": "Practitioner"}).json()
    renamed = {**person, "name": [{"family": "Rehab"}]}
    assert parties["vc_y"].put(f"/fhir/Practitioner/{person['id']}", renamed).status_code == 403
    assert parties["vc_x"].put(f"/fhir/Practitioner/{person['id']}", renamed).status_code == 200
    role = {"resourceType": "PractitionerRole", "organization": {"reference": VC_X}}
    assert parties["vc_x"].post("/fhir/PractitionerRole", role).status_code == 201
    assert parties["vc_y"].post("/fhir/PractitionerRole", role).status_code == 403


def test_only_the_operator_changes_the_questionnaire(
    parties: dict[str, Party], client: TestClient
) -> None:
    form = {
        "resourceType": "Questionnaire",
        "status": "active",
        "url": "https://kv-gateway.se/fhir/Questionnaire/x",
    }
    assert parties["kommun_a"].post("/fhir/Questionnaire", form).status_code == 403
    assert client.post("/fhir/Questionnaire", json=form, headers=FHIR_JSON).status_code == 201
    assert parties["kommun_a"].get("/fhir/Questionnaire").json()["total"] == 1


def test_test_harness_only_writes_synthetic_data(parties: dict[str, Party]) -> None:
    harness = parties["harness"]
    assert harness.post("/fhir/Patient", patient(5)).status_code == 403
    labelled = {
        **patient(5),
        "meta": {
            "security": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "HTEST"}
            ]
        },
    }
    assert harness.post("/fhir/Patient", labelled).status_code == 201


def test_conditional_create_does_not_reveal_another_partys_resource(
    parties: dict[str, Party],
) -> None:
    a = parties["kommun_a"].post("/fhir/Patient", patient(9)).json()
    number = patient(9)["identifier"][0]["value"]
    response = parties["kommun_b"].post(
        "/fhir/Patient", patient(9), **{"if-none-exist": f"identifier={number}"}
    )
    assert response.status_code == 201
    assert response.json()["id"] != a["id"]


def test_audit_is_for_auditors_only(parties: dict[str, Party]) -> None:
    parties["kommun_a"].post("/fhir/Patient", patient(4))
    assert parties["kommun_a"].get("/fhir/AuditEvent").json()["total"] == 0
    seen = parties["auditor"].get("/fhir/AuditEvent").json()
    assert seen["total"] > 0
    assert parties["auditor"].get("/fhir/Patient").status_code == 403


def test_a_write_naming_another_partys_record_is_answered_as_naming_nothing(
    parties: dict[str, Party],
) -> None:
    """Whatever a party writes (a plain create, an update, a batch or a transaction entry)
    may name only case records it sees. Another party's record and a record that does not
    exist get the same 404 at the reference, so neither existence nor ownership shows."""
    owner, other = parties["kommun_a"], parties["kommun_b"]
    hers = owner.post("/fhir/Patient", patient(11)).json()["id"]

    def consent_about(reference: str) -> dict[str, Any]:
        return {**CASE_RESOURCES["Consent"], "patient": {"reference": reference}}

    answers = []
    for reference in (
        f"Patient/{hers}",
        f"http://testserver/fhir/Patient/{hers}",  # absolute, on this server
        f"https://annan.example/fhir/Patient/{hers}",  # any base names the same record here
        "Patient/finns-inte",
    ):
        plain = other.post("/fhir/Consent", consent_about(reference))
        batch = other.post(
            "/fhir",
            {
                "resourceType": "Bundle",
                "type": "batch",
                "entry": [
                    {
                        "resource": consent_about(reference),
                        "request": {"method": "POST", "url": "Consent"},
                    }
                ],
            },
        )
        transaction = other.post(
            "/fhir",
            {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [
                    {
                        "fullUrl": "urn:uuid:0b6f1a4e-5a3c-4a53-9a2b-1f0c5f1d2e3a",
                        "resource": consent_about(reference),
                        "request": {"method": "POST", "url": "Consent"},
                    }
                ],
            },
        )
        assert plain.status_code == 404, plain.text
        assert plain.json()["issue"][0]["expression"] == ["Consent.patient.reference"]
        assert batch.status_code == 200, batch.text
        entry = batch.json()["entry"][0]["response"]
        assert entry["status"].startswith("404")
        assert entry["outcome"]["issue"][0]["expression"] == [
            "Bundle.entry[0].resource.patient.reference"
        ]
        assert transaction.status_code == 404, transaction.text
        assert transaction.json()["issue"][0]["expression"] == [
            "Bundle.entry[0].resource.patient.reference"
        ]
        answers.append(
            [
                (r["issue"][0]["code"], r["issue"][0]["details"]["text"])
                for r in (plain.json(), entry["outcome"], transaction.json())
            ]
        )
    assert all(a == answers[-1] for a in answers), "another's record looks like none at all"

    own = other.post("/fhir/Patient", patient(12)).json()["id"]
    created = other.post("/fhir/Consent", consent_about(f"Patient/{own}"))
    assert created.status_code == 201, created.text
    moved = other.put(
        f"/fhir/Consent/{created.json()['id']}",
        {**created.json(), "patient": {"reference": f"Patient/{hers}"}},
    )
    assert moved.status_code == 404, moved.text
    assert other.get("/fhir/Consent", patient=f"Patient/{hers}").json()["total"] == 0
    assert owner.get("/fhir/Consent").json()["total"] == 0, "nothing reached kommun A"
