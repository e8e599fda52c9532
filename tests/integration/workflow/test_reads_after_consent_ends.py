"""Consent on every disclosure to the kommun, however it reads: the answer and the unit's
messages by id, by version and by search are withheld once the consent no longer covers
the exchange, and each decision is audited."""

from __future__ import annotations

from typing import Any

from gateway.canonical import CS_REJECTION_REASON, CS_TASK_BUSINESS_STATUS, EXT_RECORDED_BY
from gateway.security.caller import PartyKind
from tests.integration.workflow.conftest import ANNA, GAVLE, JONKOPING_VC, World, communication
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


def _consent_decisions(world: World) -> list[str]:
    """The outcomes of the consent decisions audited so far (0 permit, 8 deny)."""
    auditor = bearer(
        world.http, register_client(world.app, "Organization/operator", PartyKind.OPERATOR)
    )
    found = world.http.get(
        "/fhir/AuditEvent", params={"subtype": "AuthZ-Consent", "_count": "200"}, headers=auditor
    ).json()
    return [e["resource"]["outcome"] for e in found.get("entry", [])]


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

    # One decision for each refused disclosure: by id twice, by version, and one match in
    # each of the two searches.
    assert _consent_decisions(world).count("8") == 5


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


def _stamp(element: dict[str, Any]) -> str | None:
    stamps = [e for e in element.get("extension", []) if e["url"] == EXT_RECORDED_BY]
    return stamps[0]["valueReference"]["reference"] if stamps else None


def test_the_units_part_of_the_task_is_withheld_once_the_consent_has_ended(
    world: World,
) -> None:
    """What the unit wrote on the kommun's Task (its notes, its work status) is a disclosure
    like its answer: once the consent has ended, the kommun reads its Task without them, by
    id, by version, by search and in the answer to its own change. Each note is stamped
    with the party that wrote it, whatever the party sent as its stamp."""
    task = world.submit(submission(ANNA.personnummer, GAVLE, case_id="anteckning-slut")).json()
    world.deliver()
    url = f"/fhir/Task/{task['id']}"
    forged = {"url": EXT_RECORDED_BY, "valueReference": {"reference": GAVLE}}
    unit_note = {"text": "Besök bokat på grund av ryggbesvär.", "extension": [forged]}
    booked = {"coding": [{"system": CS_TASK_BUSINESS_STATUS, "code": "besok-bokat"}]}
    received = world.as_unit("GET", url).json()
    accepted = world.as_unit(
        "PUT",
        url,
        {**received, "status": "accepted", "businessStatus": booked, "note": [unit_note]},
    )
    assert accepted.status_code == 200, accepted.text
    (stored_note,) = accepted.json()["note"]
    assert _stamp(stored_note) == JONKOPING_VC, "the gateway's stamp, not the one sent"
    decisions = len(_consent_decisions(world))

    # While the consent covers the exchange, the kommun reads the unit's part.
    seen = world.as_kommun("GET", url).json()
    assert (seen["note"], seen["businessStatus"]) == ([stored_note], booked)
    assert "security" not in seen["meta"]
    assert _consent_decisions(world)[decisions:] == ["0"], "the permit is audited"

    world.end_consent(task)

    version = accepted.json()["meta"]["versionId"]
    reads = {
        "by id": world.as_kommun("GET", url).json(),
        "by version": world.as_kommun("GET", f"{url}/_history/{version}").json(),
        "by search": world.as_kommun("GET", "/fhir/Task", _id=task["id"]).json()["entry"][0][
            "resource"
        ],
        "by submitting again": world.submit(
            submission(ANNA.personnummer, GAVLE, case_id="anteckning-slut")
        ).json(),
    }
    for how, read in reads.items():
        assert read["status"] == "accepted", how
        assert "note" not in read, how
        assert "businessStatus" not in read, how
        assert [s["code"] for s in read["meta"]["security"]] == ["REDACTED"], how
        assert "ryggbesvär" not in str(read), how

    # The unit that wrote them still reads them.
    unit_view = world.as_unit("GET", url).json()
    assert (unit_view["note"], unit_view["businessStatus"]) == ([stored_note], booked)

    # The kommun withdraws its request by sending back the Task as it read it, with a note
    # of its own: the unit's part stays on the record, and the answer leaves it out too.
    mine = {"text": "Samtycket har upphört; förfrågan återkallas."}
    cancelled = world.as_kommun(
        "PUT", url, {**reads["by id"], "status": "cancelled", "note": [mine]}
    )
    assert cancelled.status_code == 200, cancelled.text
    assert [n["text"] for n in cancelled.json()["note"]] == [mine["text"]]
    assert "businessStatus" not in cancelled.json()
    kept = world.as_unit("GET", url).json()
    assert [(n["text"], _stamp(n)) for n in kept["note"]] == [
        (unit_note["text"], JONKOPING_VC),
        (mine["text"], GAVLE),
    ]
    assert kept["businessStatus"] == booked
    assert "security" not in kept["meta"], "the REDACTED label is the read's, not the record's"
    assert "8" in _consent_decisions(world)[decisions + 1 :], "the denials are audited"

    # Nor does it help to lose the kommun's requester record: every kommun reader is checked.
    request = world.as_kommun("GET", f"/fhir/{task['focus']['reference']}").json()
    operator = bearer(
        world.http, register_client(world.app, "Organization/operator", PartyKind.OPERATOR)
    )
    gone = world.http.delete(f"/fhir/{request['requester']['reference']}", headers=operator)
    assert gone.status_code in (200, 204), gone.text
    assert "ryggbesvär" not in world.as_kommun("GET", url).text


def test_the_kommun_does_not_change_the_units_work_status(world: World) -> None:
    """The work status is the unit's: whatever the kommun's change sends in its place (left
    out, or another status), it stays as the unit set it, and the answer is the same
    either way, so no PUT tells whether a guess was right."""
    booked = {"coding": [{"system": CS_TASK_BUSINESS_STATUS, "code": "besok-bokat"}]}
    other = {"coding": [{"system": CS_TASK_BUSINESS_STATUS, "code": "utlatande-skickat"}]}
    for case_id, sent in (("arbetsstatus-1", other), ("arbetsstatus-2", None)):
        task = world.submit(submission(ANNA.personnummer, GAVLE, case_id=case_id)).json()
        world.deliver()
        url = f"/fhir/Task/{task['id']}"
        received = world.as_unit("GET", url).json()
        accepted = world.as_unit(
            "PUT", url, {**received, "status": "accepted", "businessStatus": booked}
        ).json()
        body = {k: v for k, v in accepted.items() if k != "businessStatus"}
        if sent is not None:
            body["businessStatus"] = sent
        cancelled = world.as_kommun("PUT", url, {**body, "status": "cancelled"})
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["businessStatus"] == booked
        assert world.as_unit("GET", url).json()["businessStatus"] == booked


def test_the_kommun_cannot_search_on_the_units_work_status(world: World) -> None:
    """A withheld match would still tell what was searched for, so the kommun may not use
    the unit's work status in a search, a sort, a condition or a subscription at all,
    whatever the consent says. The unit may."""
    task = world.submit(submission(ANNA.personnummer, GAVLE, case_id="sok-arbetsstatus")).json()
    condition = f"Task?_id={task['id']}&business-status=besok-bokat"
    tries = {
        "search": world.as_kommun("GET", "/fhir/Task", **{"business-status": "besok-bokat"}),
        "missing": world.as_kommun("GET", "/fhir/Task", **{"business-status:missing": "true"}),
        "sort": world.as_kommun("GET", "/fhir/Task", _sort="business-status"),
        "reference": world.as_kommun(
            "POST",
            "/fhir/Communication",
            {**communication(task["id"], "Fråga?"), "partOf": [{"reference": condition}]},
        ),
        "subscription": world.as_kommun(
            "POST",
            "/fhir/Subscription",
            {
                "resourceType": "Subscription",
                "status": "requested",
                "reason": "Besök",
                "criteria": "Task?business-status=besok-bokat",
                "channel": {"type": "rest-hook", "endpoint": world.webhook_url},
            },
        ),
    }
    for how, refused in tries.items():
        assert refused.status_code in (403, 422), (how, refused.text)
        assert "arbetsstatus" in refused.json()["issue"][0]["details"]["text"], how
    assert tries["search"].json()["issue"][0]["expression"] == ["Task.businessStatus"]
    assert (
        world.as_unit("GET", "/fhir/Task", **{"business-status": "besok-bokat"}).status_code == 200
    )


def test_the_units_reason_is_withheld_and_the_gateways_is_not(world: World) -> None:
    """A rejection's reason is the unit's, stamped as such, and is withheld from the kommun
    once the consent has ended; a reason the gateway gives (a request withdrawn with its
    consent) carries no stamp and is always shown."""
    task = world.submit(submission(ANNA.personnummer, GAVLE, case_id="anledning")).json()
    world.deliver()
    url = f"/fhir/Task/{task['id']}"
    received = world.as_unit("GET", url).json()
    why = {
        "coding": [{"system": CS_REJECTION_REASON, "code": "annat"}],
        "text": "Personen vårdas inneliggande.",
    }
    rejected = world.as_unit("PUT", url, {**received, "status": "rejected", "statusReason": why})
    assert rejected.status_code == 200, rejected.text
    assert _stamp(rejected.json()["statusReason"]) == JONKOPING_VC
    assert world.as_kommun("GET", url).json()["statusReason"]["text"] == why["text"]

    world.end_consent(task)

    read = world.as_kommun("GET", url).json()
    assert read["status"] == "rejected"
    assert "statusReason" not in read
    assert "inneliggande" not in str(read)

    # The gateway's own reason, on a request withdrawn with its consent, stays in view.
    other = world.submit(submission(ANNA.personnummer, GAVLE, case_id="anledning-2")).json()
    other_url = f"/fhir/Task/{other['id']}"
    world.deliver()
    request = world.as_kommun("GET", f"/fhir/{other['focus']['reference']}").json()
    consent_url = f"/fhir/{request['supportingInfo'][0]['reference']}"
    consent = world.as_kommun("GET", consent_url).json()
    assert world.as_kommun("PUT", consent_url, {**consent, "status": "inactive"}).status_code == 200
    withdrawn = world.as_kommun("GET", other_url).json()
    assert withdrawn["status"] == "cancelled"
    assert _stamp(withdrawn["statusReason"]) is None
    assert "samtycke" in withdrawn["statusReason"]["text"]


def _withdraw_consent(world: World, task: dict[str, Any]) -> None:
    """The person withdraws the consent: the kommun sets it inactive."""
    request = world.as_kommun("GET", f"/fhir/{task['focus']['reference']}").json()
    consent_url = f"/fhir/{request['supportingInfo'][0]['reference']}"
    consent = world.as_kommun("GET", consent_url).json()
    withdrawn = world.as_kommun("PUT", consent_url, {**consent, "status": "inactive"})
    assert withdrawn.status_code == 200, withdrawn.text


def test_no_total_counts_what_the_consent_withholds(world: World) -> None:
    """A search's or a history's total counts only what the kommun is shown: the unit's
    messages the withdrawn consent withholds are not in it. Where a page does not hold
    every match, so the gateway cannot tell without checking them all, the total is left
    out; the paging still reaches every match the kommun may see."""
    task, asked, replied, _ = _answered_with_a_dialogue(world, "summa")
    part_of = {"part-of": f"Task/{task['id']}"}
    reply_history = f"/fhir/Communication/{replied.json()['id']}/_history"
    before = {
        "search": world.as_kommun("GET", "/fhir/Communication", **part_of).json(),
        "type history": world.as_kommun("GET", "/fhir/Communication/_history").json(),
        "reply history": world.as_kommun("GET", reply_history).json(),
    }
    assert [before[k]["total"] for k in before] == [2, 2, 1]

    _withdraw_consent(world, task)

    dialogue = world.as_kommun("GET", "/fhir/Communication", **part_of).json()
    assert _matches(dialogue) == [asked.json()["id"]]
    assert [w["details"]["text"] for w in _warnings(dialogue)] == [WITHHELD_MESSAGE]
    assert dialogue["total"] == 1, "the unit's withheld message is not counted"
    reply = world.as_kommun("GET", reply_history).json()
    assert (reply["total"], reply["entry"]) == (0, [])
    versions = world.as_kommun("GET", "/fhir/Communication/_history").json()
    assert versions["total"] == len(versions["entry"]) == 1
    assert "Svar." not in str(versions)

    # One match a page: no page holds them all, so none tells how many there are.
    seen: list[str] = []
    url: str | None = f"/fhir/Communication?part-of=Task/{task['id']}&_count=1"
    while url is not None:
        page = world.http.get(url, headers=world.kommun).json()
        assert "total" not in page, url
        seen += _matches(page)
        url = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
    assert seen == [asked.json()["id"]]
    paged = world.as_kommun("GET", "/fhir/Communication/_history", _count=1).json()
    assert "total" not in paged

    # The unit that wrote them still has them counted, and Tasks are counted as before.
    unit_dialogue = world.as_unit("GET", "/fhir/Communication", **part_of).json()
    assert unit_dialogue["total"] == len(_matches(unit_dialogue)) == 2
    task_history = world.as_kommun("GET", f"/fhir/Task/{task['id']}/_history", _count=1).json()
    assert task_history["total"] > 1
