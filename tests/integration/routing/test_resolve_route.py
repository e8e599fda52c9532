"""$resolve-route end to end on both backends, with the local listing register as source."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from gateway.security.caller import PartyKind
from gateway.store.models import ResourceHead
from gateway.validation.identifiers import (
    SYSTEM_HSA_ID,
    SYSTEM_PERSONNUMMER,
    SYSTEM_PERSONNUMMER_OID,
    synthetic_personnummer,
)
from tests.integration.routing.conftest import (
    Resolve,
    hsa_of,
    out,
    outcome_code,
    parameters,
    person,
    steps,
)
from tests.support.auth import bearer, register_client

pytestmark = pytest.mark.usefixtures("demo")

NEW_PERSON = synthetic_personnummer(datetime.date(1979, 4, 2), 444)


def test_kommun_in_one_region_routes_to_a_vardcentral_in_another(resolve: Resolve) -> None:
    anna = person("anna")  # lives in Gävle (länskod 21), listed in Jönköping (06)
    response = resolve(anna.personnummer, "2180")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["resourceType"] == "Parameters"
    assert out(body, "outcome") == "routed"
    assert out(body, "organization")["reference"] == "Organization/vc-jonkoping-centrum"
    assert out(body, "hsaId") == {"system": SYSTEM_HSA_ID, "value": hsa_of("vc-jonkoping-centrum")}
    assert out(body, "endpoint") == {"reference": "Endpoint/ep-vc-jonkoping-centrum"}
    assert out(body, "connectionType")["code"] == "fhir-rest"
    assert out(body, "protectedIdentity") is False
    assert out(body, "source") == "local"
    codes = steps(body)
    assert codes[0] == "home-region"
    assert "listed" in codes
    assert "endpoint:fhir-rest" in codes
    # The reasoning names the home region the kommun implies, not the listing region.
    home = next(p for p in body["parameter"] if p["name"] == "step")
    assert "Gävleborg" in home["part"][1]["valueString"]
    assert anna.personnummer not in response.text


def test_inbox_unit(resolve: Resolve) -> None:
    body = resolve(person("cecilia").personnummer, "1380").json()
    assert out(body, "connectionType")["code"] == "inbox"
    assert out(body, "organization")["reference"] == "Organization/vc-halmstad-norr"


def test_rivta_unit_is_reached_through_the_routing_table(resolve: Resolve) -> None:
    body = resolve(person("david").personnummer, "0680").json()
    assert out(body, "outcome") == "routed"
    assert out(body, "connectionType")["code"] == "rivta"
    assert out(body, "endpoint") == {"reference": "Endpoint/ep-vc-gavle-sodra"}
    assert "routing-table" in steps(body)


def test_protected_identity_is_routed_normally_and_flagged_via_the_parent(
    resolve: Resolve,
) -> None:
    response = resolve(person("eva").personnummer, "0180")
    assert response.status_code == 200
    body = response.json()
    assert out(body, "protectedIdentity") is True
    # The branch unit has no Endpoint of its own: reached through its parent's.
    assert out(body, "organization")["reference"] == "Organization/vc-sodermalm-filial"
    assert out(body, "via") == {"reference": "Organization/vc-sodermalm"}
    assert out(body, "endpoint") == {"reference": "Endpoint/ep-vc-sodermalm"}
    assert {"protected-identity", "via-parent"} <= set(steps(body))


def test_not_listed_anywhere_is_404(resolve: Resolve) -> None:
    response = resolve(person("fredrik").personnummer, "1380")
    assert response.status_code == 404
    body = response.json()
    assert outcome_code(body) == "not-listed"
    assert body["issue"][0]["code"] == "not-found"
    assert "not-listed" in steps(body)


def test_two_current_pv_listings_are_ambiguous(
    resolve: Resolve, add_row: Callable[..., None]
) -> None:
    add_row(NEW_PERSON, hsa_of("vc-sodermalm"), "01")
    add_row(NEW_PERSON, hsa_of("vc-halmstad-norr"), "13", valid_from=datetime.date(2023, 5, 1))
    response = resolve(NEW_PERSON, "0180")
    assert response.status_code == 422
    body = response.json()
    assert outcome_code(body) == "ambiguous-listing"
    assert body["issue"][0]["code"] == "multiple-matches"
    # Neither unit is revealed.
    for unit in ("vc-sodermalm", "vc-halmstad-norr"):
        assert hsa_of(unit) not in response.text


def test_validity_dates_choose_the_current_pv_listing(
    resolve: Resolve, add_row: Callable[..., None]
) -> None:
    today = datetime.date.today()
    add_row(  # ended yesterday
        NEW_PERSON,
        hsa_of("vc-sodermalm"),
        "01",
        valid_from=datetime.date(2015, 1, 1),
        valid_to=today - datetime.timedelta(days=1),
    )
    add_row(NEW_PERSON, hsa_of("vc-halmstad-norr"), "13", valid_from=today)  # starts today
    add_row(  # starts tomorrow
        NEW_PERSON, hsa_of("vc-gavle-sodra"), "21", valid_from=today + datetime.timedelta(days=1)
    )
    add_row(NEW_PERSON, hsa_of("vc-jonkoping-centrum"), "06", listing_type="FDK")  # not PV
    response = resolve(NEW_PERSON, "0180")
    assert response.status_code == 200, response.text
    assert out(response.json(), "organization")["reference"] == "Organization/vc-halmstad-norr"
    # Listing history is not revealed.
    for unit in ("vc-sodermalm", "vc-gavle-sodra", "vc-jonkoping-centrum"):
        assert hsa_of(unit) not in response.text


def test_listed_at_a_unit_missing_from_the_directory(
    resolve: Resolve, add_row: Callable[..., None]
) -> None:
    add_row(NEW_PERSON, "SE2321000016-NOPE1", "01")
    response = resolve(NEW_PERSON, "0180")
    assert response.status_code == 422
    body = response.json()
    assert outcome_code(body) == "unit-not-in-directory"
    assert "unit-not-in-directory" in steps(body)


def test_unit_without_any_endpoint_is_no_route(
    client: TestClient, resolve: Resolve, add_row: Callable[..., None]
) -> None:
    created = client.post(
        "/fhir/Organization",
        json={
            "resourceType": "Organization",
            "identifier": [{"system": SYSTEM_HSA_ID, "value": "SE2321000016-LONE1"}],
            "active": True,
            "name": "Vårdcentralen Utan Adress",
        },
        headers={"content-type": "application/fhir+json"},
    )
    assert created.status_code == 201
    add_row(NEW_PERSON, "SE2321000016-LONE1", "01")
    response = resolve(NEW_PERSON, "0180")
    assert response.status_code == 422
    assert outcome_code(response.json()) == "no-route"


def test_the_rivta_route_id_is_accepted_as_hsa_system(
    client: TestClient, resolve: Resolve, add_row: Callable[..., None]
) -> None:
    created = client.post(
        "/fhir/Organization",
        json={
            "resourceType": "Organization",
            "identifier": [{"system": "urn:oid:1.2.752.129.2.1.4.1", "value": "SE2321000016-RIV1"}],
            "active": True,
            "name": "Vårdcentralen RIVTA-id",
            "partOf": {"reference": "Organization/vc-sodermalm"},
        },
        headers={"content-type": "application/fhir+json"},
    )
    assert created.status_code == 201
    add_row(NEW_PERSON, "SE2321000016-RIV1", "01")
    body = resolve(NEW_PERSON, "0180").json()
    assert out(body, "outcome") == "routed"
    assert out(body, "via") == {"reference": "Organization/vc-sodermalm"}


@pytest.mark.parametrize(
    ("body", "expression"),
    [
        ({"resourceType": "Patient"}, "resourceType"),
        ({"resourceType": "Parameters"}, "Parameters.parameter"),
        (
            parameters("198503142380", "2180"),  # wrong check digit
            "Parameters.parameter[0].valueIdentifier.value",
        ),
        (parameters(person("anna").personnummer, "9999"), "Parameters.parameter[1].valueString"),
        (
            {
                "resourceType": "Parameters",
                "parameter": [{"name": "kommunkod", "valueString": "0180"}],
            },
            "Parameters.parameter",
        ),
        (
            {
                "resourceType": "Parameters",
                "parameter": [
                    {"name": "person", "valueString": "x"},
                    {"name": "kommunkod", "valueString": "0180"},
                ],
            },
            "Parameters.parameter[0]",
        ),
        (
            {
                "resourceType": "Parameters",
                "parameter": [
                    {"name": "person", "valueIdentifier": {"system": "urn:x", "value": "1"}},
                    {"name": "kommunkod", "valueString": "0180"},
                ],
            },
            "Parameters.parameter[0].valueIdentifier.system",
        ),
        (
            {
                "resourceType": "Parameters",
                "parameter": [{"name": "vem", "valueString": "x"}],
            },
            "Parameters.parameter[0].name",
        ),
    ],
)
def test_bad_input_is_400_with_the_path(
    client: TestClient, body: dict[str, object], expression: str
) -> None:
    response = client.post(
        "/fhir/$resolve-route", json=body, headers={"content-type": "application/fhir+json"}
    )
    assert response.status_code == 400, response.text
    issue = response.json()["issue"][0]
    assert issue["code"] == "invalid"
    assert issue["expression"] == [expression]
    assert "198503142380" not in response.text


def test_a_vardcentral_may_not_resolve(app: FastAPI, anonymous: TestClient) -> None:
    unit = register_client(app, "Organization/vc-sodermalm", PartyKind.VARDCENTRAL)
    anonymous.headers.update(bearer(anonymous, unit))
    response = anonymous.post(
        "/fhir/$resolve-route",
        json=parameters(person("anna").personnummer, "2180"),
        headers={"content-type": "application/fhir+json"},
    )
    assert response.status_code == 403


def test_without_a_token_it_is_401(anonymous: TestClient) -> None:
    response = anonymous.post(
        "/fhir/$resolve-route",
        json=parameters(person("anna").personnummer, "2180"),
        headers={"content-type": "application/fhir+json"},
    )
    assert response.status_code == 401


def test_every_lookup_is_audited_without_the_person_number(app: FastAPI, resolve: Resolve) -> None:
    assert resolve(person("anna").personnummer, "2180").status_code == 200
    assert resolve(person("fredrik").personnummer, "1380").status_code == 404
    with app.state.session_factory() as session:
        from gateway.store.resources import ResourceStore

        store = ResourceStore(session)
        ids = session.scalars(
            select(ResourceHead.res_id).where(ResourceHead.res_type == "AuditEvent")
        ).all()
        events = [store.read("AuditEvent", i).body for i in ids]
    operations = [e for e in events if e and e["subtype"][0]["code"] == "operation"]
    assert sorted(e["outcome"] for e in operations) == ["0", "4"]
    for event in operations:
        text = str(event)
        assert person("anna").personnummer not in text
        assert person("fredrik").personnummer not in text


def test_cached_answers_are_marked_and_use_cache_false_asks_again(
    resolve: Resolve, add_row: Callable[..., None]
) -> None:
    add_row(NEW_PERSON, hsa_of("vc-sodermalm"), "01")
    first = resolve(NEW_PERSON, "0180").json()
    assert out(first, "cached") is False
    # The register changes: a second current listing appears.
    add_row(NEW_PERSON, hsa_of("vc-halmstad-norr"), "13")
    cached = resolve(NEW_PERSON, "0180")
    assert cached.status_code == 200
    assert out(cached.json(), "cached") is True
    fresh = resolve(NEW_PERSON, "0180", useCache=False)
    assert fresh.status_code == 422
    assert outcome_code(fresh.json()) == "ambiguous-listing"


def _kommun_asks(app: FastAPI, party: str) -> Resolve:
    """$resolve-route as a kommun's own client: personnummer, kommunkod (and the person's
    identifier system) -> the response."""
    http = TestClient(app)
    http.headers.update(bearer(http, register_client(app, party, PartyKind.KOMMUN)))

    def call(personnummer: str, kommunkod: str, system: str = SYSTEM_PERSONNUMMER) -> Response:
        body = parameters(personnummer, kommunkod)
        body["parameter"][0]["valueIdentifier"]["system"] = system
        return http.post(
            "/fhir/$resolve-route", json=body, headers={"content-type": "application/fhir+json"}
        )

    return call


def _as_party(app: FastAPI, party: str) -> Callable[[str, str], dict[str, Any]]:
    """As :func:`_kommun_asks`, for an answer: personnummer, kommunkod -> the Parameters."""
    asks = _kommun_asks(app, party)

    def call(personnummer: str, kommunkod: str) -> dict[str, Any]:
        response = asks(personnummer, kommunkod)
        assert response.status_code == 200, response.text
        return dict(response.json())

    return call


def _holds(
    app: FastAPI,
    party: str,
    personnummer: str,
    *labels: str,
    requested: bool = True,
    system: str = SYSTEM_PERSONNUMMER,
) -> str:
    """``party`` holds a Patient record of the person (identified in ``system``) and
    (``requested``) a request about it, as a submission of its leaves them; answers the
    record's reference."""
    from gateway.store.resources import ResourceStore

    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": [{"system": system, "value": personnummer}],
    }
    if labels:
        patient["meta"] = {"security": [{"code": label} for label in labels]}
    with app.state.session_factory() as session, session.begin():
        store = ResourceStore(session)
        stored = store.create(patient)
        store.grant("Patient", stored.id, {party})
        if requested:
            request = store.create(
                {
                    "resourceType": "ServiceRequest",
                    "status": "active",
                    "intent": "order",
                    "subject": {"reference": stored.reference},
                }
            )
            store.grant("ServiceRequest", request.id, {party})
    return stored.reference


def test_a_kommun_asks_only_as_itself_and_about_persons_it_has_asked_about(
    app: FastAPI, client: TestClient
) -> None:
    """Where a person is listed tells where they are cared for: no kommun may fish for it,
    not even with a Patient record it made for the purpose."""
    anna = person("anna").personnummer
    gavle = _kommun_asks(app, "Organization/kommun-2180")

    as_another = gavle(anna, "0180")
    not_held = gavle(anna, "2180")
    _holds(app, "Organization/kommun-0180", anna)  # another kommun's case does not count
    another_s_case = gavle(anna, "2180")
    _holds(app, "Organization/kommun-2180", anna, requested=False)
    a_record_alone = gavle(anna, "2180")

    for response, where in (
        (as_another, "Parameters.parameter[1]"),
        (not_held, "Parameters.parameter[0]"),
        (another_s_case, "Parameters.parameter[0]"),
        (a_record_alone, "Parameters.parameter[0]"),
    ):
        assert response.status_code == 403, response.text
        issue = response.json()["issue"][0]
        assert issue["expression"] == [where]
        assert "Kommunen kan bara" in issue["details"]["text"]
        assert anna not in response.text
        assert "vc-jonkoping" not in response.text
    record = _holds(app, "Organization/kommun-2180", anna)
    routed = out(gavle(anna, "2180").json(), "organization")
    assert routed["reference"] == "Organization/vc-jonkoping-centrum"
    # The audit names whom the kommun looked up: its own record of the person.
    lookups = client.get("/fhir/AuditEvent", params={"entity": record}).json()
    assert lookups.get("total", 0) >= 1, lookups


def test_a_kommun_whose_record_names_the_person_by_the_oid_may_ask_by_either_system(
    app: FastAPI,
) -> None:
    """urn:oid:1.2.752.129.2.1.3.1 and http://electronichealth.se/identifier/personnummer
    name the same person: a kommun's case under the OID is its case when it asks by either,
    and a protected-identity label on that record counts."""
    anna, bertil = person("anna").personnummer, NEW_PERSON
    _holds(app, "Organization/kommun-2180", anna, system=SYSTEM_PERSONNUMMER_OID)
    _holds(
        app,
        "Organization/kommun-0180",
        bertil,
        "sekretessmarkering",
        system=SYSTEM_PERSONNUMMER_OID,
    )
    gavle = _kommun_asks(app, "Organization/kommun-2180")
    for system in (SYSTEM_PERSONNUMMER, SYSTEM_PERSONNUMMER_OID):
        response = gavle(anna, "2180", system)
        assert response.status_code == 200, response.text
        routed = out(response.json(), "organization")
        assert routed["reference"] == "Organization/vc-jonkoping-centrum"
    asked = _kommun_asks(app, "Organization/kommun-0180")(bertil, "0180")
    assert asked.status_code == 404, asked.text  # it may ask; Bertil is listed nowhere
    assert outcome_code(asked.json()) == "not-listed"
    assert "protected-identity" in steps(asked.json())


def test_a_cached_answer_is_reused_only_for_the_party_that_asked(
    app: FastAPI, resolve: Resolve, add_row: Callable[..., None]
) -> None:
    """Another kommun's hit would tell it that someone looked the person up a moment ago."""
    add_row(NEW_PERSON, hsa_of("vc-sodermalm"), "01")
    assert out(resolve(NEW_PERSON, "0180").json(), "cached") is False  # the operator asks
    _holds(app, "Organization/kommun-0180", NEW_PERSON)
    kommun = _as_party(app, "Organization/kommun-0180")
    first = kommun(NEW_PERSON, "0180")
    assert out(first, "cached") is False
    assert "cached" not in steps(first)
    assert out(kommun(NEW_PERSON, "0180"), "cached") is True, "its own answer, a moment later"


def test_a_protected_identity_known_from_another_partys_records_is_not_told(
    app: FastAPI, resolve: Resolve
) -> None:
    """The gateway's own Patients may add the protected-identity label to an answer, but
    only those the asker may see: a kommun does not learn it from another's case."""
    anna = person("anna").personnummer
    _holds(app, "Organization/kommun-2180", anna, "skyddadFolkbokforing")
    _holds(app, "Organization/kommun-0180", anna)  # its own record, without the label
    asking = {
        "another kommun": _as_party(app, "Organization/kommun-0180")(anna, "0180"),
        "the kommun whose case it is": _as_party(app, "Organization/kommun-2180")(anna, "2180"),
        "the operator": resolve(anna, "2180", useCache=False).json(),
    }
    told = {who: out(answer, "protectedIdentity") for who, answer in asking.items()}
    assert told == {
        "another kommun": False,
        "the kommun whose case it is": True,
        "the operator": True,
    }
    assert "protected-identity" not in steps(asking["another kommun"])


def test_resolving_inside_a_transaction_that_already_wrote(app: FastAPI) -> None:
    """As the workflow does: the register is read on the caller's own connection (on
    SQLite a second connection would wait for the caller's write lock)."""
    from gateway.routing.person import PersonId
    from gateway.routing.resolver import RouteOutcome, RouteResolver, build_listing_resolver
    from gateway.store.resources import ResourceStore
    from gateway.validation.identifiers import SYSTEM_PERSONNUMMER

    settings = app.state.settings
    resolver = RouteResolver(build_listing_resolver(settings, app.state.engine), settings)
    with app.state.session_factory() as session, session.begin():
        ResourceStore(session).create({"resourceType": "Organization", "name": "Ny enhet"})
        decision = resolver.resolve(
            session, PersonId.parse(SYSTEM_PERSONNUMMER, person("anna").personnummer), "2180"
        )
    assert decision.outcome is RouteOutcome.ROUTED
    assert decision.unit is not None
    assert decision.unit.id == "vc-jonkoping-centrum"
