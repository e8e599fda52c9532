"""An answer completes its Task, so it must be one: to the Questionnaire the Task asks for,
finished, and by the unit that owns the Task (QuestionnaireResponseHook)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.workflow.conftest import ANNA, GAVLE, World
from tests.support.answers import answer_to
from tests.support.submissions import submission


def _received(world: World, case_id: str) -> dict[str, Any]:
    created = world.submit(submission(ANNA.personnummer, GAVLE, case_id=case_id))
    assert created.status_code == 201, created.text
    world.deliver()
    task: dict[str, Any] = world.as_unit("GET", f"/fhir/Task/{created.json()['id']}").json()
    return task


def _refused_at(response: Any, path: str) -> str:
    assert response.status_code == 422, response.text
    issue = response.json()["issue"][0]
    assert issue["expression"] == [path]
    text: str = issue["details"]["text"]
    return text


def _still_open(world: World, task: dict[str, Any]) -> None:
    now = world.as_kommun("GET", f"/fhir/Task/{task['id']}").json()
    assert now["status"] == task["status"]
    assert "output" not in now


def test_an_author_from_another_organisation_is_refused(world: World) -> None:
    """Naming a role opens the answer to its organisation: the kommun's own socialsekreterare
    (any party can find the role in the directory) would have let another kommun read it."""
    task = _received(world, "forfattare")
    answer = answer_to(task["focus"]["reference"])
    answer["author"] = task["requester"]  # a PractitionerRole of the kommun

    refused = world.as_unit("POST", "/fhir/QuestionnaireResponse", answer)

    assert "yrkesroll på den vårdcentral" in _refused_at(refused, "QuestionnaireResponse.author")
    _still_open(world, task)


@pytest.mark.parametrize(
    "questionnaire",
    [
        "https://evil.example/Questionnaire/none",
        "https://kv-gateway.se/fhir/Questionnaire/medicinskt-utlatande-aktivitetsformaga-x",
        None,
    ],
)
def test_an_answer_to_another_questionnaire_is_refused(
    world: World, questionnaire: str | None
) -> None:
    task = _received(world, "formular")
    answer = answer_to(task["focus"]["reference"])
    answer["item"] = [{"linkId": "x", "text": "x"}] if questionnaire else answer["item"]
    if questionnaire is None:
        del answer["questionnaire"]
    else:
        answer["questionnaire"] = questionnaire

    refused = world.as_unit("POST", "/fhir/QuestionnaireResponse", answer)

    assert refused.status_code == 422, refused.text
    paths = [e for issue in refused.json()["issue"] for e in issue.get("expression", [])]
    assert "QuestionnaireResponse.questionnaire" in paths
    _still_open(world, task)


def test_an_unfinished_answer_does_not_complete_the_task(world: World) -> None:
    task = _received(world, "ofardig")
    answer = answer_to(task["focus"]["reference"])
    answer["status"] = "in-progress"
    answer.pop("item")

    refused = world.as_unit("POST", "/fhir/QuestionnaireResponse", answer)

    assert "färdigt" in _refused_at(refused, "QuestionnaireResponse.status")
    _still_open(world, task)


def test_the_questionnaire_without_its_version_is_the_one_asked_for(world: World) -> None:
    """(A new version of the form answers open requests too: tests/integration/inbox.)"""
    task = _received(world, "utan-version")
    answer = answer_to(task["focus"]["reference"])
    answer["questionnaire"] = task["input"][0]["valueCanonical"].split("|")[0]

    answered = world.as_unit("POST", "/fhir/QuestionnaireResponse", answer)

    assert answered.status_code == 201, answered.text
    assert world.as_kommun("GET", f"/fhir/Task/{task['id']}").json()["status"] == "completed"


def test_an_author_that_names_nothing_here_is_kept_as_who_it_is(world: World) -> None:
    """A journal system posting its answer names its user by its own id."""
    task = _received(world, "egen-id")
    answer = answer_to(task["focus"]["reference"])
    answer["author"] = {"reference": "PractitionerRole/journalens-egen-7", "display": "Rehab"}

    answered = world.as_unit("POST", "/fhir/QuestionnaireResponse", answer)

    assert answered.status_code == 201, answered.text
    assert answered.json()["author"] == {"type": "PractitionerRole", "display": "Rehab"}
