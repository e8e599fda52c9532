"""What she does with a request: accept, reject with a reason, set the work status
(forward inside the unit, on hold and back), write to the socialsekreterare. Each is
a normal workflow change the kommun sees over the FHIR API; each refuses a missing token
and shows what is missing beside the field."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.canonical import CS_REJECTION_REASON, CS_TASK_BUSINESS_STATUS
from gateway.web.inbox import tasks
from tests.integration.inbox.conftest import HALMSTAD_VC, Agent, Inbox, Page
from tests.support.html import described_by


def _act(agent: Agent, task_id: str, action: str, data: dict[str, Any]) -> Page:
    return agent.submit(f"/inbox/arenden/{task_id}", f"/inbox/arenden/{task_id}/{action}", data)


def _assert_error_beside(page: Page, control_id: str, text: str) -> None:
    """The message is beside the field, read with it, and linked from the summary."""
    control = page.dom.by_id(control_id)
    assert control.attrs.get("aria-invalid") == "true"
    assert any(text in d for d in described_by(page.dom, control))
    summary = page.dom.by_id("error-summary")
    assert summary.attrs["role"] == "alert"
    link = summary.find("a", href=f"#{control_id}")
    assert text in link.text


def test_she_opens_a_request_and_sees_what_the_kommun_sent(inbox: Inbox) -> None:
    task_id = inbox.request_for_halmstad()
    page = inbox.signed_in().get(f"/inbox/arenden/{task_id}")
    assert page.status == 200
    person = page.dom.find("section", aria_labelledby="h-person")
    assert "Anna Testsson" in person.text
    assert "Gävle" in person.text, "the address of a person without protected identity"
    question = page.dom.find("section", aria_labelledby="h-question")
    assert "Personen uppger att värk i ryggen hindrar praktik." in question.text
    assert "2026-0100" in question.text, "the kommun's case number"
    assert "Personen uppger att ohälsa hindrar deltagande" in question.text
    assert "Vi behöver veta om Tolvan kan delta i praktik och SFI" in question.text
    assert "RH2" in question.text
    assert "Har haft försörjningsstöd i två år." in question.text
    assert "Arbetsförmedlingen" in question.text
    activities = question.find("table", class_="activities")
    rows = [[td.text for td in tr.find_all("td")] for tr in activities.find("tbody").find_all("tr")]
    assert rows == [
        [
            "Praktik",
            "20",
            "2025-12-01",
            "Lager: lyft upp till 15 kg, mycket stående.",
            "Arbete i grupp, tydliga instruktioner.",
            "Praktik på kommunens återbruk, förmiddagar.",
        ],
        ["SFI", "6", "2025-12-01", "", "", ""],
    ]
    headers = [th.text for th in activities.find_all("th")]
    assert headers[:2] == ["Aktivitet", "Timmar per vecka"]
    consent = page.dom.find("section", aria_labelledby="h-consent")
    assert "Gäller" in consent.text
    assert "Skriftligt" in consent.text
    contact = page.dom.find("section", aria_labelledby="h-contact")
    assert "+46 26 000 00 00" in contact.text
    assert "soc@kommun.example.se" in contact.text
    assert page.dom.by_id("task-status").text == "Läst"


def test_accepting_moves_the_task_and_the_kommun_sees_it(inbox: Inbox) -> None:
    task_id = inbox.request_for_halmstad()
    agent = inbox.signed_in()
    done = _act(agent, task_id, "acceptera", {})
    assert done.status == 303
    assert done.response.headers["location"] == f"/inbox/arenden/{task_id}?klart=accepterad"
    assert inbox.task(task_id)["status"] == "accepted"
    page = agent.get(done.response.headers["location"])
    assert page.dom.find(role="status").text == "Förfrågan är accepterad."
    assert not page.dom.has("form", action=f"/inbox/arenden/{task_id}/acceptera")


def test_a_rejection_needs_a_reason_shown_beside_the_field(inbox: Inbox) -> None:
    task_id = inbox.request_for_halmstad()
    agent = inbox.signed_in()
    page = _act(agent, task_id, "avvisa", {"reason": "", "comment": "kvar"})
    assert page.status == 422
    _assert_error_beside(page, "reject-reason", "Välj varför förfrågan avvisas.")
    assert page.dom.by_id("reject-comment").text == "kvar", "what she wrote is kept"
    assert inbox.task(task_id)["status"] == "received"
    other = _act(agent, task_id, "avvisa", {"reason": "annat", "comment": "  "})
    assert other.status == 422
    _assert_error_beside(other, "reject-comment", "Beskriv anledningen")


def test_rejecting_with_a_reason_code_closes_the_request(inbox: Inbox) -> None:
    task_id = inbox.request_for_halmstad()
    agent = inbox.signed_in()
    done = _act(
        agent, task_id, "avvisa", {"reason": "ej-listad", "comment": "Personen bytte vårdcentral."}
    )
    assert done.status == 303
    task = inbox.task(task_id)
    assert task["status"] == "rejected"
    assert task["statusReason"]["coding"][0]["system"] == CS_REJECTION_REASON
    assert task["statusReason"]["coding"][0]["code"] == "ej-listad"
    assert task["statusReason"]["text"] == "Personen bytte vårdcentral."
    page = agent.get(f"/inbox/arenden/{task_id}")
    assert page.dom.by_id("task-status").text == "Avvisad"
    assert not page.dom.has("form", action=f"/inbox/arenden/{task_id}/utlatande")
    assert not page.dom.has("textarea", id="message"), "a closed request takes no messages"


def test_forwarding_inside_the_unit_sets_the_business_status_and_a_note(inbox: Inbox) -> None:
    task_id = inbox.request_for_halmstad()
    agent = inbox.signed_in()
    done = _act(
        agent,
        task_id,
        "arbetsstatus",
        {"business_status": "vidarebefordrad-till-profession", "note": "Till fysioterapeut Eva."},
    )
    assert done.status == 303
    task = inbox.task(task_id)
    assert task["status"] == "received", "forwarding alone does not change the status"
    assert task["businessStatus"]["coding"][0] == {
        "system": CS_TASK_BUSINESS_STATUS,
        "code": "vidarebefordrad-till-profession",
        "display": "Vidarebefordrad till profession",
    }
    assert task["note"][-1]["text"] == "Till fysioterapeut Eva."
    assert task["note"][-1]["authorString"] == "Rehabkoordinator Halmstad"
    page = agent.get(f"/inbox/arenden/{task_id}")
    assert page.dom.by_id("business-status-now").text == "Vidarebefordrad till profession"
    assert "Till fysioterapeut Eva." in page.dom.find("section", aria_labelledby="h-notes").text


def test_on_hold_needs_an_accepted_request_and_comes_back_to_in_progress(inbox: Inbox) -> None:
    task_id = inbox.request_for_halmstad()
    agent = inbox.signed_in()
    early = _act(
        agent, task_id, "arbetsstatus", {"business_status": "besok-bokat", "on_hold": "ja"}
    )
    assert early.status == 422
    _assert_error_beside(early, "on-hold", "Acceptera förfrågan")
    missing = _act(agent, task_id, "arbetsstatus", {"business_status": ""})
    _assert_error_beside(missing, "business-status", "Välj en arbetsstatus.")
    assert _act(agent, task_id, "acceptera", {}).status == 303
    held = _act(agent, task_id, "arbetsstatus", {"business_status": "besok-bokat", "on_hold": "ja"})
    assert held.status == 303
    assert inbox.task(task_id)["status"] == "on-hold"
    page = agent.get(f"/inbox/arenden/{task_id}")
    assert "checked" in page.dom.by_id("on-hold").attrs
    resumed = _act(agent, task_id, "arbetsstatus", {"business_status": "journalgranskning-pagar"})
    assert resumed.status == 303
    assert inbox.task(task_id)["status"] == "in-progress"


def _assert_error_in_summary(page: Page, control_id: str, text: str) -> None:
    link = page.dom.by_id("error-summary").find("a", href=f"#{control_id}")
    assert text in link.text
    assert page.dom.by_id(control_id).tag == "textarea"


def test_a_note_or_an_explanation_is_at_most_5000_characters(inbox: Inbox) -> None:
    task_id = inbox.request_for_halmstad()
    agent = inbox.signed_in()
    before = inbox.task(task_id)
    too_long = "Anteckning " + "x" * 5000
    refused = _act(
        agent, task_id, "arbetsstatus", {"business_status": "besok-bokat", "note": too_long}
    )
    assert refused.status == 422
    _assert_error_beside(refused, "forward-note", "Anteckningen får vara högst 5000 tecken.")
    assert refused.dom.by_id("forward-note").text == too_long, "what she wrote is kept"
    assert inbox.task(task_id) == before, "nothing is saved"
    rejected = _act(agent, task_id, "avvisa", {"reason": "annat", "comment": too_long})
    assert rejected.status == 422
    _assert_error_beside(rejected, "reject-comment", "Förklaringen får vara högst 5000 tecken.")
    assert inbox.task(task_id) == before
    longest = "y" * 5000
    saved = _act(
        agent, task_id, "arbetsstatus", {"business_status": "besok-bokat", "note": longest}
    )
    assert saved.status == 303
    assert inbox.task(task_id)["note"][-1]["text"] == longest


def test_a_task_gathers_a_bounded_number_of_notes_from_the_inbox(
    inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tasks, "MAX_NOTES", 3)
    task_id = inbox.request_for_halmstad()
    agent = inbox.signed_in()
    for n in range(3):
        note = {"business_status": "besok-bokat", "note": f"Anteckning {n}."}
        assert _act(agent, task_id, "arbetsstatus", note).status == 303
    fourth = {"business_status": "journalgranskning-pagar", "note": "En till."}
    refused = _act(agent, task_id, "arbetsstatus", fourth)
    assert refused.status == 422
    _assert_error_in_summary(refused, "forward-note", "Förfrågan har redan 3 anteckningar")
    task = inbox.task(task_id)
    assert [n["text"] for n in task["note"]] == [f"Anteckning {n}." for n in range(3)]
    assert task["businessStatus"]["coding"][0]["code"] == "besok-bokat"
    without_note = _act(
        agent, task_id, "arbetsstatus", {"business_status": "journalgranskning-pagar"}
    )
    assert without_note.status == 303, "the work status is still set, without a note"
    assert inbox.task(task_id)["businessStatus"]["coding"][0]["code"] == "journalgranskning-pagar"


def test_a_message_becomes_a_communication_the_kommun_reads(inbox: Inbox) -> None:
    task_id = inbox.request_for_halmstad()
    agent = inbox.signed_in()
    empty = _act(agent, task_id, "meddelande", {"message": "   "})
    assert empty.status == 422
    _assert_error_beside(empty, "message", "Skriv ett meddelande.")
    text = "Vilka arbetsuppgifter ingår i praktiken? Ring gärna."
    assert _act(agent, task_id, "meddelande", {"message": text}).status == 303
    found = inbox.world.as_kommun("GET", "/fhir/Communication", **{"part-of": f"Task/{task_id}"})
    assert found.status_code == 200
    (entry,) = found.json()["entry"]
    message = entry["resource"]
    assert message["payload"] == [{"contentString": text}]
    assert message["sender"] == {"reference": HALMSTAD_VC}
    assert message["recipient"] == [{"reference": "Organization/kommun-2180"}]
    page = agent.get(f"/inbox/arenden/{task_id}")
    assert text in page.dom.by_id("messages").text
    reply = {
        "resourceType": "Communication",
        "status": "completed",
        "partOf": [{"reference": f"Task/{task_id}"}],
        "payload": [{"contentString": "Lager och packning, mest stående."}],
    }
    assert inbox.world.as_kommun("POST", "/fhir/Communication", reply).status_code == 201
    assert "Lager och packning" in agent.get(f"/inbox/arenden/{task_id}").dom.by_id("messages").text


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("acceptera", {}),
        ("avvisa", {"reason": "dubblett"}),
        ("arbetsstatus", {"business_status": "besok-bokat"}),
        ("meddelande", {"message": "Hej"}),
        ("utlatande", {"q:1.1": "false"}),
    ],
)
@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_every_action_refuses_a_missing_or_wrong_token(
    inbox: Inbox, action: str, data: dict[str, str], token: str | None
) -> None:
    task_id = inbox.request_for_halmstad()
    before = inbox.task(task_id)
    agent = inbox.signed_in()
    fields = data if token is None else {"csrf": token, **data}
    page = agent.post(f"/inbox/arenden/{task_id}/{action}", fields)
    assert page.status == 403
    assert page.dom.find("h1").text == "Formuläret kunde inte skickas"
    assert inbox.task(task_id)["meta"]["versionId"] == before["meta"]["versionId"]


def test_another_session_s_token_is_not_enough(inbox: Inbox) -> None:
    task_id = inbox.request_for_halmstad()
    first, second = inbox.signed_in(), inbox.signed_in()
    token = first.get(f"/inbox/arenden/{task_id}").csrf()
    assert second.post(f"/inbox/arenden/{task_id}/acceptera", {"csrf": token}).status == 403
    assert inbox.task(task_id)["status"] == "received"


def test_signed_out_actions_go_to_sign_in_and_change_nothing(inbox: Inbox) -> None:
    task_id = inbox.request_for_halmstad()
    page = inbox.agent().post(f"/inbox/arenden/{task_id}/acceptera", {"csrf": "x"})
    assert page.status == 303
    assert page.response.headers["location"] == "/inbox/logga-in"
    assert inbox.task(task_id)["status"] == "received"


def test_protected_identity_hides_address_and_contact_data(inbox: Inbox) -> None:
    task_id = inbox.request_for_halmstad(protected=True)
    page = inbox.signed_in().get(f"/inbox/arenden/{task_id}")
    person = page.dom.find("section", aria_labelledby="h-person")
    assert "Skyddad identitet" in person.text
    facts = person.find("dl")
    assert "Adress" not in facts.text
    assert "Gävle" not in facts.text
    assert "19900630-1270" in person.text, "she still needs to know who it is"
