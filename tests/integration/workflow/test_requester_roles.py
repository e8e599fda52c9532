"""A kommun's socialsekreterare is part of its cases, not of the directory: the role a
request names as its requester is seen by the kommun and by the unit the request is
addressed to, and by no other party (gateway.security.tenancy)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, text

from gateway.security.caller import PartyKind
from gateway.store.migrate import downgrade, upgrade
from gateway.store.resources import ResourceStore
from tests.integration.workflow.conftest import ANNA, GAVLE, JONKOPING_VC, World
from tests.support.auth import bearer, register_client
from tests.support.fhir_data import FHIR_JSON
from tests.support.submissions import ROLE, submission

STOCKHOLM = "Organization/kommun-0180"
SODERMALM_VC = "Organization/vc-sodermalm"


class Outsiders:
    """Another kommun, and a vårdcentral the request was not addressed to."""

    def __init__(self, world: World) -> None:
        self.http = world.http
        self.headers = [
            bearer(world.http, register_client(world.app, party, kind))
            for party, kind in (
                (STOCKHOLM, PartyKind.KOMMUN),
                (SODERMALM_VC, PartyKind.VARDCENTRAL),
            )
        ]

    def read(self, url: str) -> list[int]:
        return [self.http.get(url, headers=h).status_code for h in self.headers]

    def find(self, url: str) -> list[set[str]]:
        return [
            {e["resource"]["id"] for e in self.http.get(url, headers=h).json().get("entry", [])}
            for h in self.headers
        ]


def _submitted_role(world: World, bundle: dict[str, Any]) -> str:
    created = world.submit(bundle)
    assert created.status_code == 201, created.text
    requester: str = created.json()["requester"]["reference"]
    assert requester.startswith("PractitionerRole/")
    return requester


def test_only_the_kommun_and_the_unit_see_the_requester(world: World) -> None:
    outsiders = Outsiders(world)
    role = _submitted_role(world, submission(ANNA.personnummer, GAVLE, case_id="roll-1"))
    role_id = role.split("/")[1]

    assert world.as_kommun("GET", f"/fhir/{role}").status_code == 200
    assert world.as_unit("GET", f"/fhir/{role}").status_code == 200
    assert outsiders.read(f"/fhir/{role}") == [404, 404]
    assert outsiders.read(f"/fhir/{role}/_history") == [404, 404]
    # Neither by the kommun's name nor in a plain listing: no party counts its requests.
    by_kommun = "/fhir/PractitionerRole?organization=kommun-2180"
    assert outsiders.find(by_kommun) == [set(), set()]
    assert all(role_id not in found for found in outsiders.find("/fhir/PractitionerRole"))
    assert role_id in {
        e["resource"]["id"] for e in world.as_kommun("GET", by_kommun).json().get("entry", [])
    }


def _role_of(call: Callable[..., Any], organization: str) -> str:
    """A role of ``organization`` created by a plain POST; its id."""
    role = {"resourceType": "PractitionerRole", "organization": {"reference": organization}}
    created = call("POST", "/fhir/PractitionerRole", role)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def test_directory_roles_stay_readable_by_every_party(world: World) -> None:
    outsiders = Outsiders(world)
    role_id = _role_of(world.as_unit, JONKOPING_VC)

    assert outsiders.read(f"/fhir/PractitionerRole/{role_id}") == [200, 200]
    assert all(
        role_id in found
        for found in outsiders.find("/fhir/PractitionerRole?organization=vc-jonkoping-centrum")
    )


def test_a_role_a_kommun_creates_is_its_own(world: World) -> None:
    outsiders = Outsiders(world)
    url = f"/fhir/PractitionerRole/{_role_of(world.as_kommun, GAVLE)}"

    assert outsiders.read(url) == [404, 404]
    assert world.as_kommun("GET", url).status_code == 200


def test_a_stored_role_becomes_the_kommuns_once_a_request_names_it(world: World) -> None:
    """A role stored as a directory entry (by an operator, or before this rule) that a
    request names as its requester is claimed for the kommun and the unit."""
    outsiders = Outsiders(world)
    with world.app.state.session_factory() as session, session.begin():
        role = ResourceStore(session).create(
            {"resourceType": "PractitionerRole", "organization": {"reference": GAVLE}}
        )
    url = f"/fhir/{role.reference}"
    assert outsiders.read(url) == [200, 200]
    bundle = submission(ANNA.personnummer, GAVLE, case_id="roll-2")
    bundle["entry"] = [e for e in bundle["entry"] if e["fullUrl"] != ROLE]
    request = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "ServiceRequest")
    request["resource"]["requester"] = {"reference": role.reference}

    assert _submitted_role(world, bundle) == role.reference

    assert outsiders.read(url) == [404, 404]
    assert world.as_kommun("GET", url).status_code == 200
    assert world.as_unit("GET", url).status_code == 200


def test_the_upgrade_claims_the_roles_that_requests_named_before(
    world: World, engine: Engine, database_url: str
) -> None:
    """Before migration 0013 no role was granted to any party."""
    role = _submitted_role(world, submission(ANNA.personnummer, GAVLE, case_id="roll-3"))
    outsiders = Outsiders(world)
    downgrade(database_url, "0012")
    with engine.connect() as connection:
        grants = connection.execute(
            text("SELECT count(*) FROM resource_party WHERE res_type = 'PractitionerRole'")
        ).scalar_one()
    assert grants == 0
    assert outsiders.read(f"/fhir/{role}") == [200, 200]  # as every release before it

    upgrade(database_url)

    assert outsiders.read(f"/fhir/{role}") == [404, 404]
    assert world.as_kommun("GET", f"/fhir/{role}").status_code == 200
    assert world.as_unit("GET", f"/fhir/{role}").status_code == 200


def test_an_unknown_role_and_another_kommuns_answer_alike(world: World) -> None:
    """An update of a role that does not exist would be 405 (no update as create): that
    would tell another kommun's role, 404, apart from none at all."""
    role = _submitted_role(world, submission(ANNA.personnummer, GAVLE, case_id="roll-4"))
    stockholm = Outsiders(world).headers[0]
    answers = []
    for role_id in (role.split("/")[1], "finns-inte"):
        body = {
            "resourceType": "PractitionerRole",
            "id": role_id,
            "organization": {"reference": STOCKHOLM},
        }
        for headers in ({}, {"If-Match": 'W/"1"'}):
            answers.append(
                world.http.put(
                    f"/fhir/PractitionerRole/{role_id}",
                    json=body,
                    headers={**stockholm, **FHIR_JSON, **headers},
                ).status_code
            )
    assert answers == [404, 404, 404, 404]


def test_a_submission_naming_another_kommuns_role_answers_as_for_none(world: World) -> None:
    """$submit refused another kommun's stored role with 403 (its organisation is not the
    caller's) and an unknown id with 404, so a kommun could tell whether a role id exists."""
    role = _submitted_role(world, submission(ANNA.personnummer, GAVLE, case_id="roll-5"))
    stockholm = Outsiders(world).headers[0]
    answers = []
    for reference in (role, "PractitionerRole/finns-inte"):
        bundle = submission(ANNA.personnummer, STOCKHOLM, case_id=f"roll-6-{len(answers)}")
        bundle["entry"] = [e for e in bundle["entry"] if e["fullUrl"] != ROLE]
        request = next(
            e for e in bundle["entry"] if e["resource"]["resourceType"] == "ServiceRequest"
        )
        request["resource"]["requester"] = {"reference": reference}
        answered = world.http.post(
            "/fhir/ServiceRequest/$submit", json=bundle, headers={**stockholm, **FHIR_JSON}
        )
        answers.append((answered.status_code, answered.json()["issue"][0]["details"]["text"]))
    assert answers[0] == answers[1]
    assert answers[0][0] == 404
