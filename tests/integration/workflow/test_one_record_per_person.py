"""One Patient per person for each party: a second record with the same personnummer made
every later submission about the person fail with a 412 the kommun could not act on."""

from __future__ import annotations

from typing import Any

from gateway.database import open_database
from gateway.security.caller import PartyKind
from gateway.settings import Settings
from gateway.store.resources import ResourceStore
from tests.integration.workflow.conftest import ANNA, GAVLE, World
from tests.support.auth import bearer, register_client
from tests.support.fhir_data import FHIR_JSON
from tests.support.submissions import submission

STOCKHOLM = "Organization/kommun-0180"


def _person(number: str) -> dict[str, Any]:
    bundle = submission(number, GAVLE, case_id="en-post")
    person: dict[str, Any] = bundle["entry"][0]["resource"]
    return person


def test_a_second_record_of_the_same_person_is_refused(world: World) -> None:
    first = world.as_kommun("POST", "/fhir/Patient", _person(ANNA.personnummer))
    assert first.status_code == 201, first.text

    second = world.as_kommun("POST", "/fhir/Patient", _person(ANNA.personnummer))

    assert second.status_code == 409, second.text
    issue = second.json()["issue"][0]
    assert issue["expression"] == ["Patient.identifier[0]"]
    assert "finns redan" in issue["details"]["text"]
    assert ANNA.personnummer not in second.text
    kept = first.json()
    renamed = world.as_kommun(
        "PUT", f"/fhir/Patient/{kept['id']}", {**kept, "name": [{"family": "Nytt"}]}
    )
    assert renamed.status_code == 200, renamed.text
    submitted = world.submit(submission(ANNA.personnummer, GAVLE, case_id="en-post"))
    assert submitted.status_code == 201, submitted.text
    assert submitted.json()["for"] == {"reference": f"Patient/{kept['id']}"}


def test_another_kommun_keeps_a_record_of_its_own(world: World) -> None:
    """What another party holds is not seen, and so neither told nor a duplicate."""
    assert world.as_kommun("POST", "/fhir/Patient", _person(ANNA.personnummer)).status_code == 201
    stockholm = bearer(world.http, register_client(world.app, STOCKHOLM, PartyKind.KOMMUN))

    theirs = world.http.post(
        "/fhir/Patient", json=_person(ANNA.personnummer), headers={**stockholm, **FHIR_JSON}
    )

    assert theirs.status_code == 201, theirs.text


def test_a_person_held_twice_already_is_told_in_words_at_submit(
    world: World, settings: Settings
) -> None:
    sessions = open_database(settings, world.app.state.engine).sessions
    with sessions() as session, session.begin():  # as stored before the rule
        store = ResourceStore(session)
        for _ in range(2):
            stored = store.create(_person(ANNA.personnummer))
            store.grant("Patient", stored.id, {GAVLE})

    refused = world.submit(submission(ANNA.personnummer, GAVLE, case_id="dubbel"))

    assert refused.status_code == 409, refused.text
    issue = refused.json()["issue"][0]
    assert issue["expression"] == ["Bundle.entry[0].resource.identifier"]
    assert "flera gånger" in issue["details"]["text"]
