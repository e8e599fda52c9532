"""The answer: the national Questionnaire rendered from its resource, errors beside the
right field, a valid QuestionnaireResponse through the workflow that the kommun finds,
the printable views, and a new version of the form that renders with no code change."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from gateway.validation.conformance import DEFAULT_COMPILED_DIR
from gateway.validation.factory import build_validator
from gateway.web.inbox.catalog import catalog
from gateway.web.inbox.questionnaire import Form
from tests.integration.inbox.conftest import HALMSTAD_VC, Agent, Inbox, Page
from tests.support.answers import example_answer_fields, replaced, without
from tests.support.html import described_by, label_of

QUESTIONNAIRE_FILE = "Questionnaire-medicinskt-utlatande-aktivitetsformaga.json"


def _questionnaire(directory: Path = DEFAULT_COMPILED_DIR) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((directory / QUESTIONNAIRE_FILE).read_text())
    return body


def _items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for item in items:
        found.append(item)
        found.extend(_items(item.get("item") or []))
    return found


def _answer(agent: Agent, task_id: str, fields: list[tuple[str, str]]) -> Page:
    return agent.submit(
        f"/inbox/arenden/{task_id}/utlatande", f"/inbox/arenden/{task_id}/utlatande", fields
    )


def _dom_id(link_id: str) -> str:
    form = Form.build({"item": [{"linkId": link_id, "type": "string"}]}, catalog().terminology)
    return form.items[0].dom_id


def _assert_error_beside(page: Page, link_id: str, text: str) -> None:
    """The error is in the item's own block, read with its control, linked from the summary."""
    dom_id = _dom_id(link_id)
    error = page.dom.by_id(f"{dom_id}-error")
    assert text in error.text
    wrap = page.dom.by_id(f"{dom_id}-wrap")
    assert error in list(wrap.iter()), "the message sits beside the field"
    assert "has-error" in wrap.attrs["class"]
    described = [
        el
        for el in wrap.iter()
        if f"{dom_id}-error" in el.attrs.get("aria-describedby", "").split()
    ]
    assert described
    assert described[0].attrs.get("aria-invalid") == "true"
    summary = page.dom.by_id("error-summary")
    assert any(
        a.attrs["href"] in (f"#{dom_id}", f"#{dom_id}-0") and text in a.text
        for a in summary.find_all("a")
    )


def test_every_item_of_the_questionnaire_is_on_the_form_with_its_label(inbox: Inbox) -> None:
    task_id = inbox.request_for_halmstad()
    page = inbox.signed_in().get(f"/inbox/arenden/{task_id}/utlatande")
    assert page.status == 200
    questionnaire = _questionnaire()
    assert page.dom.find("h1").text == questionnaire["title"]
    form = page.dom.find("form", class_="questionnaire")
    for item in _items(questionnaire["item"]):
        dom_id = _dom_id(item["linkId"])
        if item["type"] == "display":
            assert item["text"] in form.text
        elif item["type"] == "group":
            group = form.by_id(dom_id)
            assert group.tag == "fieldset"
            assert group.find("legend").text == item["text"]
        elif item["type"] == "choice" and form.has(id=dom_id):
            select = form.by_id(dom_id)
            assert select.tag == "select"
            assert item["text"] in label_of(page.dom, select)
        elif item["type"] in ("boolean", "choice"):
            first = form.by_id(f"{dom_id}-0")
            assert first.attrs["type"] in ("radio", "checkbox")
            fieldset = first.closest("fieldset")
            assert fieldset is not None
            assert item["text"] in fieldset.find("legend").text
            if item.get("repeats"):
                assert first.attrs["type"] == "checkbox"
        else:
            control = form.by_id(dom_id)
            assert item["text"] in label_of(page.dom, control)
        if item.get("required") and item["type"] not in ("group", "display"):
            assert "(obligatorisk)" in form.by_id(f"{dom_id}-wrap").text
        if item.get("enableWhen"):
            wrap = form.by_id(dom_id if item["type"] == "group" else f"{dom_id}-wrap")
            assert json.loads(wrap.attrs["data-enable-when"])["conditions"]
            assert wrap.find(class_="condition").text.startswith("Besvaras om")


def test_help_texts_and_ranges_are_read_with_their_question(inbox: Inbox) -> None:
    task_id = inbox.request_for_halmstad()
    page = inbox.signed_in().get(f"/inbox/arenden/{task_id}/utlatande")
    hours = page.dom.by_id(_dom_id("kv.omfattning.timmar"))
    described = described_by(page.dom, hours)
    assert "Ange ett heltal mellan 1 och 40 timmar per vecka." in described
    assert "Ange ett värde från 1 till 40." in described
    assert hours.attrs["inputmode"] == "numeric"
    profession = page.dom.by_id(_dom_id("kv.underlag.profession"))
    assert profession.tag == "select", "nine options: a list box rather than radio buttons"
    assert [o.text for o in profession.find_all("option")][1] == "Läkare"


def test_a_missing_required_answer_is_shown_beside_its_field(inbox: Inbox) -> None:
    task_id = inbox.request_for_halmstad()
    agent = inbox.signed_in()
    page = _answer(agent, task_id, without(example_answer_fields(), "q:kv.prognos.bedomning"))
    assert page.status == 422
    _assert_error_beside(page, "kv.prognos.bedomning", "Svara på frågan ”Bedömning av prognos”.")
    assert len(page.dom.by_id("error-summary").find_all("li")) == 1
    kept = page.dom.by_id(_dom_id("kv.kontakt.namn"))
    assert kept.attrs["value"] == "Bertil Koordinator", "what she wrote is still there"
    assert inbox.task(task_id)["status"] == "received"
    assert page.dom.find("title").text.startswith("Fel i formuläret")


def test_an_item_enabled_by_an_answer_becomes_required(inbox: Inbox) -> None:
    task_id = inbox.request_for_halmstad()
    page = _answer(inbox.signed_in(), task_id, without(example_answer_fields(), "q:1.2"))
    assert page.status == 422
    _assert_error_beside(page, "1.2", "Svara på frågan")


def test_answers_to_disabled_items_are_dropped_not_refused(inbox: Inbox) -> None:
    task_id = inbox.request_for_halmstad()
    fields = [*example_answer_fields(), ("q:3.2", "Stale text from before she said no")]
    done = _answer(inbox.signed_in(), task_id, fields)
    assert done.status == 303, done.response.text[:500]
    answer = _the_answer(inbox, task_id)
    # linkIds only: the answer's timestamps may contain "3.2" as well.
    assert '"linkId": "3.2"' not in json.dumps(answer)
    assert "Stale text" not in json.dumps(answer)


def test_unreadable_and_out_of_range_values_are_explained_beside_their_fields(
    inbox: Inbox,
) -> None:
    task_id = inbox.request_for_halmstad()
    agent = inbox.signed_in()
    fields = replaced(example_answer_fields(), "q:kv.omfattning.timmar", "tjugo")
    fields = replaced(fields, "q:kv.underlag.datum", "18/11/2025")
    fields = without(fields, "q:kv.kontakt.telefon")
    page = _answer(agent, task_id, fields)
    assert page.status == 422
    _assert_error_beside(page, "kv.omfattning.timmar", "Ange ett heltal")
    _assert_error_beside(page, "kv.underlag.datum", "Ange datumet som ÅÅÅÅ-MM-DD")
    _assert_error_beside(page, "kv.kontakt.telefon", "Svara på frågan ”Telefonnummer”.")
    too_many = _answer(
        agent, task_id, replaced(example_answer_fields(), "q:kv.omfattning.timmar", "41")
    )
    assert too_many.status == 422
    _assert_error_beside(too_many, "kv.omfattning.timmar", "är för stort (högst 40)")
    text = too_many.dom.by_id(f"{_dom_id('kv.omfattning.timmar')}-error").text
    assert "kv.omfattning.timmar" not in text, "the question's words, not its linkId"
    blank = _answer(
        agent, task_id, replaced(example_answer_fields(), "q:kv.prognos.bedomning", "   ")
    )
    assert blank.status == 422
    _assert_error_beside(blank, "kv.prognos.bedomning", "bara av blanksteg")
    assert inbox.task(task_id)["status"] == "received"


def _the_answer(inbox: Inbox, task_id: str) -> dict[str, Any]:
    task = inbox.task(task_id)
    reference = task["output"][0]["valueReference"]["reference"]
    response = inbox.world.as_kommun("GET", f"/fhir/{reference}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_complete_answer_completes_the_task_with_a_valid_response(inbox: Inbox) -> None:
    task_id = inbox.request_for_halmstad()
    agent = inbox.signed_in()
    done = _answer(agent, task_id, example_answer_fields())
    assert done.status == 303, done.response.text[:2000]
    assert done.response.headers["location"] == f"/inbox/arenden/{task_id}?klart=utlatande"
    task = inbox.task(task_id)
    assert task["status"] == "completed"
    answer = _the_answer(inbox, task_id)
    assert answer["status"] == "completed"
    assert answer["basedOn"] == task["basedOn"]
    assert answer["author"]["type"] == "PractitionerRole"
    assert answer["author"]["identifier"]["value"] == "rehab.halmstad"
    assert answer["author"]["display"] == "Rehabkoordinator Halmstad"
    assert task["owner"] == {"reference": HALMSTAD_VC}
    assert answer["subject"] == task["for"]
    assert answer["questionnaire"].endswith("|1.0.0")
    validator = inbox.world.app.state.validator
    assert [i for i in validator.issues(answer) if i.severity.value in ("error", "fatal")] == []
    found = inbox.world.as_kommun(
        "GET", "/fhir/QuestionnaireResponse", **{"based-on": task["focus"]["reference"]}
    )
    assert [e["resource"]["id"] for e in found.json()["entry"]] == [answer["id"]]
    page = agent.get(done.response.headers["location"])
    assert page.dom.by_id("task-status").text == "Klar"
    assert page.dom.has("a", href=f"/inbox/arenden/{task_id}/utlatande/utskrift")
    again = agent.get(f"/inbox/arenden/{task_id}/utlatande")
    assert not again.dom.has("form", class_="questionnaire")
    late = agent.post(
        f"/inbox/arenden/{task_id}/utlatande", [("csrf", page.csrf()), *example_answer_fields()]
    )
    assert late.status == 409
    assert "Förfrågan är redan avslutad." in late.dom.by_id("error-summary").text


def test_the_printable_views_show_the_request_and_the_answer(inbox: Inbox) -> None:
    task_id = inbox.request_for_halmstad()
    agent = inbox.signed_in()
    assert agent.get(f"/inbox/arenden/{task_id}/utlatande/utskrift").status == 404
    assert _answer(agent, task_id, example_answer_fields()).status == 303
    request = agent.get(f"/inbox/arenden/{task_id}/utskrift")
    assert request.status == 200
    assert "print-view" in request.dom.find("body").attrs["class"]
    assert "Personen uppger att värk i ryggen hindrar praktik." in request.dom.find("main").text
    assert not request.dom.has("form", class_="action")
    printed = agent.get(f"/inbox/arenden/{task_id}/utlatande/utskrift")
    assert printed.status == 200
    text = printed.dom.find("main").text
    assert "Hur många timmar per vecka kan personen delta? 20" in text
    assert "Vad grundar sig utlåtandet på? Journalgranskning, Besök" in text
    assert "Bertil Koordinator" in text
    assert "inte ett sjukintyg" in text


def _new_version(tmp_path: Path) -> Path:
    """A copy of the compiled conformance with version 1.1.0 of the form: one more group
    with a required yes/no question and a follow-up integer with a range."""
    directory = tmp_path / "compiled"
    shutil.copytree(DEFAULT_COMPILED_DIR, directory, ignore=shutil.ignore_patterns("invalid"))
    questionnaire = _questionnaire(directory)
    questionnaire["version"] = "1.1.0"
    questionnaire["item"].insert(
        -1,
        {
            "linkId": "kv.arbetsresa",
            "type": "group",
            "text": "Resor till aktiviteten",
            "required": True,
            "item": [
                {
                    "linkId": "kv.arbetsresa.klarar",
                    "type": "boolean",
                    "text": "Klarar personen resan till aktiviteten på egen hand?",
                    "required": True,
                },
                {
                    "linkId": "kv.arbetsresa.minuter",
                    "type": "integer",
                    "text": "Hur lång restid i minuter klarar personen?",
                    "required": True,
                    "enableWhen": [
                        {"question": "kv.arbetsresa.klarar", "operator": "=", "answerBoolean": True}
                    ],
                    "extension": [
                        {
                            "url": "http://hl7.org/fhir/StructureDefinition/minValue",
                            "valueInteger": 5,
                        },
                        {
                            "url": "http://hl7.org/fhir/StructureDefinition/maxValue",
                            "valueInteger": 120,
                        },
                    ],
                },
            ],
        },
    )
    (directory / QUESTIONNAIRE_FILE).write_text(json.dumps(questionnaire, ensure_ascii=False))
    return directory


def test_a_new_version_of_the_form_renders_and_submits_without_code_changes(
    inbox: Inbox, tmp_path: Path
) -> None:
    directory = _new_version(tmp_path)
    app = inbox.world.app
    app.state.validator = build_validator(compiled_dir=directory)  # a deployment ships it
    app.state.inbox_compiled_dir = directory
    task_id = inbox.request_for_halmstad()
    agent = inbox.signed_in()
    form = agent.get(f"/inbox/arenden/{task_id}/utlatande")
    assert "Formulärversion 1.1.0" in form.dom.find("main").text
    group = form.dom.by_id(_dom_id("kv.arbetsresa"))
    assert group.find("legend").text == "Resor till aktiviteten"
    minutes = form.dom.by_id(_dom_id("kv.arbetsresa.minuter"))
    assert "Hur lång restid" in label_of(form.dom, minutes)
    assert "Ange ett värde från 5 till 120." in described_by(form.dom, minutes)

    old_answer = _answer(agent, task_id, example_answer_fields())
    assert old_answer.status == 422
    _assert_error_beside(
        old_answer, "kv.arbetsresa.klarar", "Svara på frågan ”Klarar personen resan"
    )
    fields = [*example_answer_fields(), ("q:kv.arbetsresa.klarar", "true")]
    no_minutes = _answer(agent, task_id, fields)
    _assert_error_beside(no_minutes, "kv.arbetsresa.minuter", "Svara på frågan")
    too_far = _answer(agent, task_id, [*fields, ("q:kv.arbetsresa.minuter", "240")])
    _assert_error_beside(too_far, "kv.arbetsresa.minuter", "för stort (högst 120)")
    done = _answer(agent, task_id, [*fields, ("q:kv.arbetsresa.minuter", "45")])
    assert done.status == 303, done.response.text[:2000]
    answer = _the_answer(inbox, task_id)
    assert answer["questionnaire"].endswith("|1.1.0")
    travel = next(i for i in answer["item"] if i["linkId"] == "kv.arbetsresa")
    assert travel["item"][1] == {
        "linkId": "kv.arbetsresa.minuter",
        "text": "Hur lång restid i minuter klarar personen?",
        "answer": [{"valueInteger": 45}],
    }
    printed = agent.get(f"/inbox/arenden/{task_id}/utlatande/utskrift")
    assert "Hur lång restid i minuter klarar personen? 45" in printed.dom.find("main").text
