"""What a party may not do to a Task or the records of its case, and odd input that must be
refused clearly: nothing changes, and the answer says where and why."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.canonical import EXT_RECORDED_BY
from gateway.security.caller import PartyKind
from tests.integration.workflow.conftest import ANNA, GAVLE, JONKOPING_VC, World
from tests.support.answers import answer_to
from tests.support.auth import bearer, register_client
from tests.support.fhir_data import FHIR_JSON
from tests.support.submissions import submission

KV_TASK = "https://kv-gateway.se/fhir/StructureDefinition/kv-task"
STOCKHOLM = "Organization/kommun-0180"


def _submitted(world: World, case_id: str) -> dict[str, Any]:
    answer = world.submit(submission(ANNA.personnummer, GAVLE, case_id=case_id))
    assert answer.status_code == 201, answer.text
    task: dict[str, Any] = answer.json()
    return task


def _refusal(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    issue: dict[str, Any] = body["issue"][0]
    assert issue["details"]["text"]
    return issue


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"status": ["accepted"]}, "Task.status"),
        ({"status": {"code": "accepted"}}, "Task.status"),
        ({"status": "rejected", "statusReason": "Fel enhet"}, "Task.statusReason"),
        ({"status": "rejected", "statusReason": ["ej-listad"]}, "Task.statusReason"),
        ({"status": "rejected", "statusReason": 3}, "Task.statusReason"),
    ],
)
def test_a_mistyped_change_is_refused_where_it_is_wrong(
    world: World, change: dict[str, Any], where: str
) -> None:
    task = _submitted(world, "mistyped")
    url = f"/fhir/Task/{task['id']}"
    issue = _refusal(world.as_unit("PUT", url, {**task, **change}), 422)
    assert issue["expression"] == [where]
    assert world.as_unit("GET", url).json()["meta"]["versionId"] == task["meta"]["versionId"]


def test_a_change_without_a_status_is_refused_as_incomplete_not_as_a_transition(
    world: World,
) -> None:
    task = _submitted(world, "no-status")
    without = {k: v for k, v in task.items() if k != "status"}
    issue = _refusal(world.as_unit("PUT", f"/fhir/Task/{task['id']}", without), 422)
    assert issue["expression"] == ["Task.status"]
    assert issue["code"] != "business-rule"


def test_on_hold_needs_a_business_status_saying_what_the_work_waits_for(world: World) -> None:
    task = _submitted(world, "vilande")
    url = f"/fhir/Task/{task['id']}"
    accepted = world.as_unit("PUT", url, {**task, "status": "accepted"}).json()
    issue = _refusal(world.as_unit("PUT", url, {**accepted, "status": "on-hold"}), 422)
    assert issue["expression"] == ["Task.businessStatus"]
    assert "arbetsstatus" in issue["details"]["text"]
    assert world.as_unit("GET", url).json()["status"] == "accepted"

    booked = {
        "coding": [
            {
                "system": "https://kv-gateway.se/fhir/CodeSystem/kv-task-business-status",
                "code": "besok-bokat",
            }
        ]
    }
    held = world.as_unit("PUT", url, {**accepted, "status": "on-hold", "businessStatus": booked})
    assert held.status_code == 200, held.text
    assert held.json()["businessStatus"]["coding"][0]["code"] == "besok-bokat"


@pytest.mark.parametrize("party", ["kommun", "unit"])
def test_no_party_deletes_the_records_a_case_rests_on(world: World, party: str) -> None:
    task = _submitted(world, f"delete-{party}")
    as_party = world.as_kommun if party == "kommun" else world.as_unit
    request = world.as_kommun("GET", f"/fhir/{task['focus']['reference']}").json()
    records = [
        f"/fhir/Task/{task['id']}",
        f"/fhir/{task['focus']['reference']}",
        f"/fhir/{request['supportingInfo'][0]['reference']}",
    ]
    for url in records:
        resource_type = url.split("/")[2]
        if party == "unit" and resource_type != "Task":  # not the unit's to write at all
            issue = _refusal(as_party("DELETE", url), 403)
            assert "registreras och ändras av kommunen" in issue["details"]["text"]
        else:
            issue = _refusal(as_party("DELETE", url), 409)
            assert "tas inte bort" in issue["details"]["text"]
        assert issue["expression"] == [resource_type]
        assert world.as_kommun("GET", url).status_code == 200, url


def test_the_unit_cannot_attach_an_answer_by_hand(world: World) -> None:
    task = _submitted(world, "forged-output")
    url = f"/fhir/Task/{task['id']}"
    received = world.as_unit("PUT", url, {**task, "status": "received"}).json()
    accepted = world.as_unit("PUT", url, {**received, "status": "accepted"}).json()
    forged = {
        **accepted,
        "status": "in-progress",
        "output": [
            {
                "type": {"coding": [{"system": "urn:x", "code": "questionnaire-response"}]},
                "valueReference": {"reference": "QuestionnaireResponse/nope"},
            }
        ],
    }
    issue = _refusal(world.as_unit("PUT", url, forged), 409)
    assert issue["expression"] == ["Task.output"]
    assert "output" not in world.as_unit("GET", url).json()


def test_meta_is_kept_when_left_out_and_its_labels_cannot_be_changed(world: World) -> None:
    task = _submitted(world, "meta")
    url = f"/fhir/Task/{task['id']}"
    relabelled = {
        **task,
        "status": "received",
        "meta": {"security": [{"system": "urn:x", "code": "N"}]},
    }
    issue = _refusal(world.as_unit("PUT", url, relabelled), 409)
    assert issue["expression"] == ["Task.meta"]

    without_meta = {k: v for k, v in task.items() if k != "meta"}
    received = world.as_unit("PUT", url, {**without_meta, "status": "received"})
    assert received.status_code == 200, received.text
    assert received.json()["meta"]["profile"] == [KV_TASK]
    stale = {**received.json(), "status": "accepted", "meta": task["meta"]}  # old versionId
    assert world.as_unit("PUT", url, stale).status_code == 200


def test_another_party_cannot_tell_whether_a_case_exists(world: World) -> None:
    task = _submitted(world, "finns-det")
    made_up = "0b8e9c1e-0000-4000-8000-000000000000"
    stockholm = bearer(
        world.http, register_client(world.app, "Organization/kommun-0180", PartyKind.KOMMUN)
    )
    sodermalm = bearer(
        world.http, register_client(world.app, "Organization/vc-sodermalm", PartyKind.VARDCENTRAL)
    )

    def post(headers: dict[str, str], path: str, body: dict[str, Any]) -> tuple[int, str]:
        answer = world.http.post(path, json=body, headers={**headers, **FHIR_JSON})
        return answer.status_code, answer.json()["issue"][0]["details"]["text"]

    def message(task_id: str) -> dict[str, Any]:
        return {
            "resourceType": "Communication",
            "status": "completed",
            "partOf": [{"reference": f"Task/{task_id}"}],
            "payload": [{"contentString": "Hej"}],
        }

    theirs = post(stockholm, "/fhir/Communication", message(task["id"]))
    nobodys = post(stockholm, "/fhir/Communication", message(made_up))
    assert theirs == nobodys
    assert theirs[0] == 404

    theirs = post(sodermalm, "/fhir/QuestionnaireResponse", answer_to(task["focus"]["reference"]))
    nobodys = post(sodermalm, "/fhir/QuestionnaireResponse", answer_to(f"ServiceRequest/{made_up}"))
    assert theirs == nobodys
    assert theirs[0] == 404


def test_notes_once_made_stay_whoever_sends_the_task_back_without_them(world: World) -> None:
    """Notes are part of the case record: neither party removes or rewrites a note already
    made (its own or the other's) by sending the Task back without it or changed; what
    is sent that is new is added, timed when it has no time."""
    task = _submitted(world, "anteckningar")
    url = f"/fhir/Task/{task['id']}"
    first = {"text": "Besök bokas.", "authorString": "Rehab VC"}
    noted = world.as_unit("PUT", url, {**task, "status": "received", "note": [first]})
    assert noted.status_code == 200, noted.text
    timed = noted.json()["note"]
    assert [n["text"] for n in timed] == ["Besök bokas."]
    assert timed[0]["time"], "a note without a time is timed"

    for sent in (
        [],  # left out
        [first],  # as first sent, without the time the gateway gave it
        [{k: v for k, v in timed[0].items() if k != "extension"}],  # without its stamp
        timed,  # as read
    ):
        body = {k: v for k, v in noted.json().items() if k != "note"}
        kept = world.as_unit("PUT", url, {**body, "note": sent} if sent else body)
        assert kept.status_code == 200, kept.text
        assert kept.json()["note"] == timed
        noted = kept

    rewritten = world.as_unit(
        "PUT", url, {**noted.json(), "note": [{**timed[0], "text": "Besök bokat 12/12."}]}
    )
    assert rewritten.status_code == 200, rewritten.text
    assert [n["text"] for n in rewritten.json()["note"]] == ["Besök bokas.", "Besök bokat 12/12."]

    # The kommun withdraws the request, sending its own note only.
    cancelled = world.as_kommun(
        "PUT",
        url,
        {**rewritten.json(), "status": "cancelled", "note": [{"text": "Ärendet avslutat."}]},
    )
    assert cancelled.status_code == 200, cancelled.text
    assert [n["text"] for n in cancelled.json()["note"]] == [
        "Besök bokas.",
        "Besök bokat 12/12.",
        "Ärendet avslutat.",
    ]


def test_the_kommun_cancels_past_what_the_unit_named_in_a_note(world: World) -> None:
    """A Task version is checked only for what it names anew: the unit's note may name a
    record the kommun cannot see (here the person's record at another kommun), and the
    kommun, which cannot remove the note, can still withdraw its request."""
    stockholm = bearer(world.http, register_client(world.app, STOCKHOLM, PartyKind.KOMMUN))
    elsewhere = world.http.post(
        "/fhir/ServiceRequest/$submit",
        json=submission(ANNA.personnummer, STOCKHOLM, case_id="annan-kommun"),
        headers={**stockholm, **FHIR_JSON},
    )
    assert elsewhere.status_code == 201, elsewhere.text
    their_record = elsewhere.json()["for"]["reference"]

    task = _submitted(world, "notering-om-annan")
    url = f"/fhir/Task/{task['id']}"
    note = {"text": "Se även annan kommuns ärende.", "authorReference": {"reference": their_record}}
    noted = world.as_unit("PUT", url, {**task, "status": "received", "note": [note]})
    assert noted.status_code == 200, noted.text
    assert world.as_kommun("GET", f"/fhir/{their_record}").status_code == 404

    cancelled = world.as_kommun("PUT", url, {**noted.json(), "status": "cancelled"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["note"][0]["authorReference"] == {"reference": their_record}


def test_a_note_of_the_same_text_as_the_other_partys_is_a_note_of_its_own(world: World) -> None:
    """A note sent without a stamp is taken for one already made only when the sender made
    it: the kommun's note that happens to say what the unit's says is added, stamped with
    the kommun, not dropped as the unit's."""
    task = _submitted(world, "samma-text")
    url = f"/fhir/Task/{task['id']}"
    same = {"text": "Vi återkommer.", "time": "2026-12-01T10:00:00Z"}
    noted = world.as_unit("PUT", url, {**task, "status": "received", "note": [same]})
    assert noted.status_code == 200, noted.text
    unit_body = {k: v for k, v in noted.json().items() if k != "note"}
    cancelled = world.as_kommun("PUT", url, {**unit_body, "status": "cancelled", "note": [same]})
    assert cancelled.status_code == 200, cancelled.text
    stamps = [
        [e["valueReference"]["reference"] for e in n["extension"] if e["url"] == EXT_RECORDED_BY]
        for n in cancelled.json()["note"]
    ]
    assert stamps == [[JONKOPING_VC], [GAVLE]]
