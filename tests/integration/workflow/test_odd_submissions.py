"""Submissions with odd but possible values: each is recognised for what it is, a repeat
as a repeat and a new request as new, and a broken one is refused where it is broken."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.workflow.conftest import ANNA, FREDRIK, GAVLE, World
from tests.support.submissions import P, submission


def _tasks(world: World) -> int:
    return int(world.as_kommun("GET", "/fhir/Task").json()["total"])


@pytest.mark.parametrize("key", ["abc+def==", "k1,k2", "a%41", "arende 7/2026 & mer"])
def test_an_idempotency_key_is_taken_as_it_is_written(world: World, key: str) -> None:
    first = world.submit(
        submission(ANNA.personnummer, GAVLE, case_id="nyckel-1"), **{"Idempotency-Key": key}
    )
    again = world.submit(
        submission(ANNA.personnummer, GAVLE, case_id="nyckel-2"), **{"Idempotency-Key": key}
    )
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.json()["id"] == first.json()["id"]
    assert _tasks(world) == 1


def test_a_case_identifier_is_taken_as_it_is_written(world: World) -> None:
    plus = world.submit(submission(ANNA.personnummer, GAVLE, case_id="2026+5"))
    plus_again = world.submit(submission(ANNA.personnummer, GAVLE, case_id="2026+5"))
    assert (plus.status_code, plus_again.status_code) == (201, 200)

    alone = world.submit(submission(ANNA.personnummer, GAVLE, case_id="B-17"))
    listed = world.submit(submission(ANNA.personnummer, GAVLE, case_id="A-16,B-17"))
    assert (alone.status_code, listed.status_code) == (201, 201), "another case, not B-17"
    assert listed.json()["id"] != alone.json()["id"]
    assert _tasks(world) == 3


def test_two_entries_with_one_full_url_are_refused(world: World) -> None:
    bundle = submission(ANNA.personnummer, GAVLE, case_id="samma-url")
    bundle["entry"][1]["fullUrl"] = P  # the PractitionerRole takes the Patient's
    refused = world.submit(bundle)
    assert refused.status_code == 400, refused.text
    issue = refused.json()["issue"][0]
    assert issue["expression"] == ["Bundle.entry[1].fullUrl"]
    assert "samma fullUrl" in issue["details"]["text"]
    assert _tasks(world) == 0


def test_a_full_url_that_is_no_text_is_refused(world: World) -> None:
    bundle = submission(ANNA.personnummer, GAVLE, case_id="url-objekt")
    bundle["entry"][0]["fullUrl"] = {"url": P}
    refused = world.submit(bundle)
    assert refused.status_code == 400, refused.text
    assert refused.json()["issue"][0]["expression"] == ["Bundle.entry[0].fullUrl"]


@pytest.mark.parametrize("entries", [5, True, "Patient", {"resource": {}}])
def test_entries_that_are_no_list_are_refused(world: World, entries: object) -> None:
    refused = world.submit({"resourceType": "Bundle", "type": "transaction", "entry": entries})
    assert refused.status_code == 400, refused.text
    issue = refused.json()["issue"][0]
    assert issue["expression"] == ["Bundle.entry"]
    assert "lista" in issue["details"]["text"]
    assert _tasks(world) == 0


def test_an_entrys_problem_is_placed_inside_the_entry(world: World) -> None:
    bundle = submission(ANNA.personnummer, GAVLE, case_id="fel-i-posten")
    patient: dict[str, Any] = bundle["entry"][0]["resource"]
    patient["identifier"] = {"system": "x", "value": "y"}  # an object, not a list
    refused = world.submit(bundle)
    assert refused.status_code == 422, refused.text
    expressions = [e for i in refused.json()["issue"] for e in i.get("expression", [])]
    assert "Bundle.entry[0].resource.identifier" in expressions, expressions


@pytest.mark.parametrize(
    ("entry", "element", "reference", "told"),
    [
        (2, "subject", "urn:uuid:finns-inte", "pekar inte på någon post"),
        (2, "requester", "urn:uuid:finns-inte", "pekar inte på någon post"),
        (2, "subject", "Patient?identifier={system}|{number}", "inte med sökvillkor"),
    ],
)
def test_a_reference_to_nothing_in_the_submission_is_refused_where_it_is(
    world: World, entry: int, element: str, reference: str, told: str
) -> None:
    """It was stored as sent: a dangling request, dead at delivery, or a search string
    holding the personnummer in clear in the search index."""
    bundle = submission(ANNA.personnummer, GAVLE, case_id="ref-ingenstans")
    system = bundle["entry"][0]["resource"]["identifier"][0]["system"]
    written = reference.format(system=system, number=ANNA.personnummer)
    bundle["entry"][entry]["resource"][element] = {"reference": written}
    refused = world.submit(bundle)
    assert refused.status_code == 422, refused.text
    issue = refused.json()["issue"][0]
    assert issue["expression"] == [f"Bundle.entry[{entry}].resource.{element}.reference"]
    assert told in issue["details"]["text"]
    assert ANNA.personnummer not in refused.text
    assert _tasks(world) == 0


def test_an_entry_left_without_its_full_url_is_refused_where_it_is_named(world: World) -> None:
    bundle = submission(ANNA.personnummer, GAVLE, case_id="utan-fullurl")
    del bundle["entry"][0]["fullUrl"]  # the Patient, which the others name
    refused = world.submit(bundle)
    assert refused.status_code == 422, refused.text
    assert refused.json()["issue"][0]["expression"][0].startswith("Bundle.entry[")
    assert _tasks(world) == 0


@pytest.mark.parametrize(
    ("person", "kommun", "changes", "status", "at"),
    [
        ("fredrik", GAVLE, {}, 422, "Bundle.entry[0].resource.identifier"),  # listed nowhere
        (
            "anna",
            GAVLE,
            {"consent_changes": {"status": "inactive"}},
            422,
            "Bundle.entry[3].resource",
        ),
        ("anna", "Organization/kommun-0180", {}, 403, "Bundle.entry[2].resource.requester"),
    ],
)
def test_a_refusal_after_validation_points_into_the_bundle(
    world: World, person: str, kommun: str, changes: dict[str, Any], status: int, at: str
) -> None:
    """Routing, consent and the kommun check name the resource's own element; the caller
    sent a Bundle, so the answer names the entry, as validation's answers do."""
    number = {"anna": ANNA.personnummer, "fredrik": FREDRIK.personnummer}[person]
    refused = world.submit(submission(number, kommun, case_id="var", **changes))
    assert refused.status_code == status, refused.text
    assert refused.json()["issue"][0]["expression"][0].startswith(at)
