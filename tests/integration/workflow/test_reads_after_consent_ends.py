"""Consent on every disclosure to the kommun, however it reads: the answer and the unit's
messages by id, by version and by search are withheld once the consent no longer covers
the exchange, and each decision is audited."""

from __future__ import annotations

from typing import Any

from gateway.security.caller import PartyKind
from tests.integration.workflow.conftest import ANNA, GAVLE, World, communication
from tests.support.answers import answer_to
from tests.support.auth import bearer, register_client
from tests.support.fhir_data import FHIR_JSON
from tests.support.submissions import submission

WITHHELD_ANSWER = "Samtycket gäller inte längre; utlåtandet lämnas inte ut."
WITHHELD_MESSAGE = "Samtycket gäller inte längre; vårdcentralens meddelande lämnas inte ut."


def _matches(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


def _warnings(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        issue
        for e in bundle.get("entry", [])
        if e["search"]["mode"] == "outcome"
        for issue in e["resource"]["issue"]
    ]


def _answered_with_a_dialogue(world: World, case_id: str) -> tuple[Any, Any, Any, Any]:
    """A delivered, accepted request with a question from the kommun, a reply from the
    unit and the answer: the Task, and the three responses that stored them."""
    task = world.submit(submission(ANNA.personnummer, GAVLE, case_id=case_id)).json()
    world.deliver()
    task_url = f"/fhir/Task/{task['id']}"
    received = world.as_unit("GET", task_url).json()
    assert world.as_unit("PUT", task_url, {**received, "status": "accepted"}).status_code == 200
    asked = world.as_kommun("POST", "/fhir/Communication", communication(task["id"], "Fråga?"))
    replied = world.as_unit("POST", "/fhir/Communication", communication(task["id"], "Svar."))
    assert (asked.status_code, replied.status_code) == (201, 201), replied.text
    answer = world.as_unit(
        "POST", "/fhir/QuestionnaireResponse", answer_to(task["focus"]["reference"])
    )
    assert answer.status_code == 201, answer.text
    return task, asked, replied, answer


def test_the_answer_and_the_units_messages_are_withheld_once_the_consent_has_ended(
    world: World,
) -> None:
    task, asked, replied, answer = _answered_with_a_dialogue(world, "slut")
    request_ref = task["focus"]["reference"]
    answer_url = f"/fhir/QuestionnaireResponse/{answer.json()['id']}"

    def reads() -> tuple[int, int, dict[str, Any], dict[str, Any]]:
        return (
            world.as_kommun("GET", answer_url).status_code,
            world.as_kommun("GET", f"{answer_url}/_history/1").status_code,
            world.as_kommun(
                "GET", "/fhir/QuestionnaireResponse", **{"based-on": request_ref}
            ).json(),
            world.as_kommun(
                "GET", "/fhir/Communication", **{"part-of": f"Task/{task['id']}"}
            ).json(),
        )

    # While the consent covers the exchange, the kommun reads everything.
    by_id, by_version, answers, dialogue = reads()
    assert (by_id, by_version) == (200, 200)
    assert _matches(answers) == [answer.json()["id"]]
    assert sorted(_matches(dialogue)) == sorted([asked.json()["id"], replied.json()["id"]])
    assert _warnings(answers) == _warnings(dialogue) == []

    world.end_consent(task)

    refused = world.as_kommun("GET", answer_url)
    assert refused.status_code == 403
    issue = refused.json()["issue"][0]
    assert (issue["details"]["text"], issue["expression"]) == (
        WITHHELD_ANSWER,
        ["QuestionnaireResponse"],
    )
    by_id, by_version, answers, dialogue = reads()
    assert (by_id, by_version) == (403, 403)
    assert _matches(answers) == []
    assert [(w["severity"], w["details"]["text"]) for w in _warnings(answers)] == [
        ("warning", WITHHELD_ANSWER)
    ]
    assert _matches(dialogue) == [asked.json()["id"]], "the kommun's own message stays"
    assert [w["details"]["text"] for w in _warnings(dialogue)] == [WITHHELD_MESSAGE]
    assert ANNA.personnummer not in str(answers) + str(dialogue)

    # The unit that holds them still reads its own answer and message.
    assert world.as_unit("GET", answer_url).status_code == 200
    unit_dialogue = world.as_unit(
        "GET", "/fhir/Communication", **{"part-of": f"Task/{task['id']}"}
    ).json()
    assert len(_matches(unit_dialogue)) == 2

    auditor = bearer(
        world.http, register_client(world.app, "Organization/operator", PartyKind.OPERATOR)
    )
    denials = world.http.get(
        "/fhir/AuditEvent",
        params={"subtype": "AuthZ-Consent", "outcome": "8", "_count": "50"},
        headers=auditor,
    ).json()
    # One decision for each refused disclosure: by id twice, by version, and one match in
    # each of the two searches.
    assert len(denials.get("entry", [])) == 5


def test_a_conditional_create_is_no_way_around_the_consent(world: World) -> None:
    """If-None-Exist answers with the match it finds: that match goes to the caller only
    as a read of it would, alone and in a transaction alike."""
    task, _, replied, answer = _answered_with_a_dialogue(world, "villkor")
    condition = f"_id={replied.json()['id']}"

    def conditionally() -> Any:
        return world.http.post(
            "/fhir/Communication",
            json={"resourceType": "Communication"},
            headers={**world.kommun, **FHIR_JSON, "If-None-Exist": condition},
        )

    def in_a_transaction(resource_type: str, match: str) -> Any:
        entry = {
            "resource": {"resourceType": resource_type},
            "request": {"method": "POST", "url": resource_type, "ifNoneExist": match},
        }
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}
        return world.as_kommun("POST", "/fhir", bundle)

    found = conditionally()
    assert found.status_code == 200, found.text
    assert found.json()["payload"][0]["contentString"] == "Svar."
    transaction = in_a_transaction("Communication", condition)
    assert transaction.status_code == 200, transaction.text
    assert "Svar." in transaction.text

    world.end_consent(task)

    for refused in (conditionally(), in_a_transaction("Communication", condition)):
        assert refused.status_code == 403, refused.text
        assert "Svar." not in refused.text
        (issue,) = refused.json()["issue"]
        assert issue["details"]["text"] == WITHHELD_MESSAGE
    assert issue["expression"] == ["Bundle.entry[0].resource"]

    # A client that may read answers but not create them finds none by a condition.
    reader = register_client(
        world.app, GAVLE, PartyKind.KOMMUN, scopes=("system/QuestionnaireResponse.rs",)
    )
    world.kommun = bearer(world.http, reader, "system/QuestionnaireResponse.rs")
    no_scope = in_a_transaction("QuestionnaireResponse", f"_id={answer.json()['id']}")
    assert no_scope.status_code == 403, no_scope.text
    assert "linkId" not in no_scope.text, "nothing of the answer"


def test_a_withheld_match_does_not_end_the_paging(world: World) -> None:
    """A page with a match withheld is still a full page: the next one holds the rest."""
    task = world.submit(submission(ANNA.personnummer, GAVLE, case_id="sidor")).json()
    world.deliver()
    task_url = f"/fhir/Task/{task['id']}"
    received = world.as_unit("GET", task_url).json()
    assert world.as_unit("PUT", task_url, {**received, "status": "accepted"}).status_code == 200
    posted = [
        world.as_kommun("POST", "/fhir/Communication", communication(task["id"], "Fråga 1?")),
        world.as_unit("POST", "/fhir/Communication", communication(task["id"], "Svar 1.")),
        world.as_kommun("POST", "/fhir/Communication", communication(task["id"], "Fråga 2?")),
    ]
    assert [p.status_code for p in posted] == [201, 201, 201]
    world.end_consent(task)

    first = world.as_kommun(
        "GET", "/fhir/Communication", **{"part-of": task_url.removeprefix("/fhir/"), "_count": 2}
    ).json()
    assert _matches(first) == [posted[0].json()["id"]]
    assert [w["details"]["text"] for w in _warnings(first)] == [WITHHELD_MESSAGE]
    (next_url,) = [link["url"] for link in first["link"] if link["relation"] == "next"]
    second = world.http.get(next_url, headers=world.kommun).json()
    assert _matches(second) == [posted[2].json()["id"]], "the kommun's own second question"
    assert not [link for link in second["link"] if link["relation"] == "next"]
