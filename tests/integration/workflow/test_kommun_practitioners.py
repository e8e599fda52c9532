"""A kommun's socialsekreterare by name (the Practitioner its role points to) is part of its
cases, not of the directory: seen by the kommun and by the units its requests reach, and by
no other party. A region's Practitioner stays a directory entry; either is changed only by
the party that registered it (gateway.security.tenancy)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text

from gateway.security.caller import PartyKind
from gateway.store.migrate import downgrade, upgrade
from gateway.store.resources import ResourceStore
from gateway.validation.identifiers import SYSTEM_HSA_ID
from tests.integration.workflow.conftest import ANNA, GAVLE, JONKOPING_VC, World
from tests.integration.workflow.test_requester_roles import Outsiders
from tests.support.auth import bearer, register_client
from tests.support.fhir_data import FHIR_JSON
from tests.support.submissions import ROLE, submission

REGION = "Organization/region-06"
PERSON = "urn:uuid:1f0c0d2e-0000-4000-8000-0000000000aa"


def _person(hsa_suffix: str) -> dict[str, Any]:
    return {
        "resourceType": "Practitioner",
        "identifier": [{"system": SYSTEM_HSA_ID, "value": f"SE2321000131-{hsa_suffix}"}],
        "name": [{"family": "Handläggare", "given": ["Sara"]}],
    }


def _asked_by(bundle: dict[str, Any], practitioner: str) -> dict[str, Any]:
    """The submission with its requester role naming ``practitioner``."""
    role = next(e for e in bundle["entry"] if e["fullUrl"] == ROLE)
    role["resource"]["practitioner"] = {"reference": practitioner}
    return bundle


def _ids(found: Any) -> set[str]:
    return {e["resource"]["id"] for e in found.json().get("entry", [])}


def _put(world: World, headers: dict[str, str], url: str, body: dict[str, Any]) -> int:
    return int(world.http.put(url, json=body, headers={**headers, **FHIR_JSON}).status_code)


def test_only_the_kommun_and_the_routed_unit_see_its_practitioner(world: World) -> None:
    outsiders = Outsiders(world)
    created = world.as_kommun("POST", "/fhir/Practitioner", _person("P000000000071"))
    assert created.status_code == 201, created.text
    person = created.json()
    url = f"/fhir/Practitioner/{person['id']}"
    assert world.as_unit("GET", url).status_code == 404, "no request has reached the unit yet"

    bundle = _asked_by(
        submission(ANNA.personnummer, GAVLE, case_id="namn-1"), f"Practitioner/{person['id']}"
    )
    assert world.submit(bundle).status_code == 201

    assert world.as_kommun("GET", url).status_code == 200
    assert world.as_unit("GET", url).status_code == 200
    assert person["id"] in _ids(world.as_unit("GET", "/fhir/Practitioner"))
    for path in (url, f"{url}/_history/1", f"{url}/_history"):
        assert outsiders.read(path) == [404, 404], path
    assert outsiders.find("/fhir/Practitioner") == [set(), set()]
    assert outsiders.find(f"/fhir/Practitioner?_id={person['id']}") == [set(), set()]
    history = [world.http.get("/fhir/Practitioner/_history", headers=h) for h in outsiders.headers]
    assert [h.json()["total"] for h in history] == [0, 0]
    # A condition that would match it finds nothing for another kommun: a new one is made.
    stockholm = outsiders.headers[0]
    condition = {"If-None-Exist": f"identifier={SYSTEM_HSA_ID}|{person['identifier'][0]['value']}"}
    conditional = world.http.post(
        "/fhir/Practitioner",
        json=_person("P000000000071"),
        headers={**stockholm, **FHIR_JSON, **condition},
    )
    assert conditional.status_code == 201, conditional.text
    assert conditional.json()["id"] != person["id"]
    # Its id and one never used answer alike; the unit reads it but does not change it.
    renamed = {**person, "name": [{"family": "Ändrad"}]}
    unknown = {**renamed, "id": "finns-inte"}
    assert _put(world, stockholm, url, renamed) == 404
    assert _put(world, stockholm, "/fhir/Practitioner/finns-inte", unknown) == 404
    assert _put(world, world.unit, url, renamed) == 403
    assert _put(world, world.kommun, url, renamed) == 200


def test_a_regions_practitioner_stays_in_the_directory(world: World) -> None:
    outsiders = Outsiders(world)
    region = bearer(world.http, register_client(world.app, REGION, PartyKind.REGION))
    created = world.http.post(
        "/fhir/Practitioner", json=_person("P000000000072"), headers={**region, **FHIR_JSON}
    )
    assert created.status_code == 201, created.text
    person = created.json()
    url = f"/fhir/Practitioner/{person['id']}"
    # A kommun's request naming it makes it neither the kommun's nor the unit's to change.
    bundle = _asked_by(
        submission(ANNA.personnummer, GAVLE, case_id="namn-2"), f"Practitioner/{person['id']}"
    )
    assert world.submit(bundle).status_code == 201

    assert outsiders.read(url) == [200, 200]
    assert all(person["id"] in found for found in outsiders.find("/fhir/Practitioner"))
    renamed = {**person, "name": [{"family": "Ändrad"}]}
    for headers in (world.kommun, world.unit, *outsiders.headers):
        assert _put(world, headers, url, renamed) == 403
    assert _put(world, region, url, renamed) == 200


def _grants(engine: Engine) -> dict[str, set[str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT res_id, party FROM resource_party WHERE res_type = 'Practitioner'")
        )
        grants: dict[str, set[str]] = {}
        for res_id, party in rows:
            grants.setdefault(res_id, set()).add(party)
    return grants


def _stored_as_before(world: World, *parties: str) -> str:
    """A Practitioner as releases before migration 0014 stored it: granted to its registrar."""
    with world.app.state.session_factory() as session, session.begin():
        person = ResourceStore(session).create(
            _person("P000000000073"), parties=lambda _: set(parties)
        )
    return person.id


def test_the_upgrade_makes_the_kommuns_practitioners_its_own(
    world: World, engine: Engine, database_url: str
) -> None:
    """Before migration 0014 every party read every Practitioner."""
    outsiders = Outsiders(world)
    bundle = submission(ANNA.personnummer, GAVLE, case_id="namn-3")
    bundle["entry"].append({"fullUrl": PERSON, "resource": _person("P000000000074")})
    created = world.submit(_asked_by(bundle, PERSON))
    assert created.status_code == 201, created.text
    role = world.as_kommun("GET", f"/fhir/{created.json()['requester']['reference']}").json()
    gavle_person = role["practitioner"]["reference"]
    assert outsiders.read(f"/fhir/{gavle_person}") == [404, 404]
    assert world.as_unit("GET", f"/fhir/{gavle_person}").status_code == 200
    region = bearer(world.http, register_client(world.app, REGION, PartyKind.REGION))
    region_person = world.http.post(
        "/fhir/Practitioner", json=_person("P000000000075"), headers={**region, **FHIR_JSON}
    ).json()["id"]

    downgrade(database_url, "0013")
    assert _grants(engine) == {gavle_person.split("/")[1]: {GAVLE}, region_person: {REGION}}
    goteborg = "Organization/kommun-1480"  # a kommun with no client: the directory says so
    by_goteborg = _stored_as_before(world, goteborg)
    by_unit = _stored_as_before(world, JONKOPING_VC)
    by_nobody = _stored_as_before(world)

    upgrade(database_url)

    assert _grants(engine) == {
        gavle_person.split("/")[1]: {GAVLE, f"registrar:{GAVLE}", JONKOPING_VC},
        region_person: {REGION, f"registrar:{REGION}", "*"},
        by_goteborg: {goteborg, f"registrar:{goteborg}"},
        by_unit: {JONKOPING_VC, f"registrar:{JONKOPING_VC}", "*"},
        by_nobody: {"*"},
    }
    assert outsiders.read(f"/fhir/{gavle_person}") == [404, 404]
    assert world.as_unit("GET", f"/fhir/{gavle_person}").status_code == 200
    assert outsiders.read(f"/fhir/Practitioner/{region_person}") == [200, 200]
