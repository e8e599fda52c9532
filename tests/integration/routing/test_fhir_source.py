"""The FHIR listing source against a region FHIR server the test runs: a second instance
of the gateway itself, with Patients that have a generalPractitioner."""

from __future__ import annotations

import datetime
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.demo_peers.fhir_journal import JournalSystem
from gateway.routing.listing_sources import SourceUnavailable
from gateway.routing.listing_sources.fhir import FhirListingSource
from gateway.routing.person import ListingHasher, PersonId
from gateway.routing.resolver import ListingResolver
from gateway.settings import AuthMode, Settings
from gateway.validation.identifiers import (
    SYSTEM_HSA_ID,
    SYSTEM_PERSONNUMMER,
    synthetic_personnummer,
)
from tests.integration.routing.conftest import Resolve, hsa_of, out, outcome_code
from tests.support.live_server import free_port, serve
from tests.support.request_lines import RequestLines


def pnr(serial: int) -> str:
    return synthetic_personnummer(datetime.date(1981, 7, 7), serial)


@pytest.fixture(scope="module")
def region_peer(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, RequestLines]]:
    """Region Jönköping's FHIR server: our own gateway app, demo identity, own database;
    with the request lines it received (what its access log would hold)."""
    path = tmp_path_factory.mktemp("region-fhir") / "region.db"
    shutil.copyfile(sqlite_template, path)
    port = free_port()
    settings = Settings(
        database_url=f"sqlite:///{path}",  # type: ignore[arg-type]
        auth_mode=AuthMode.DEMO,
        public_base_url=f"http://127.0.0.1:{port}",
        rate_limit_per_minute=0,
    )
    region_app = create_app(settings)
    with TestClient(region_app) as http:
        _populate(http)
    recorded = RequestLines(region_app)
    with serve(recorded, port=port) as base:
        yield f"{base}/fhir", recorded


@pytest.fixture(scope="module")
def region_server(region_peer: tuple[str, RequestLines]) -> str:
    return region_peer[0]


def _post(http: TestClient, body: dict[str, Any]) -> str:
    response = http.post(
        f"/fhir/{body['resourceType']}",
        json=body,
        headers={"content-type": "application/fhir+json"},
    )
    assert response.status_code == 201, response.text
    created: str = response.json()["id"]
    return created


def _populate(http: TestClient) -> None:
    unit = _post(
        http,
        {
            "resourceType": "Organization",
            "identifier": [{"system": SYSTEM_HSA_ID, "value": hsa_of("vc-jonkoping-centrum")}],
            "name": "Vårdcentralen Jönköping Centrum",
        },
    )
    other = _post(
        http,
        {
            "resourceType": "Organization",
            "identifier": [{"system": SYSTEM_HSA_ID, "value": hsa_of("vc-sodermalm")}],
            "name": "Vårdcentralen Södermalm",
        },
    )
    # Listed by a literal reference.
    _post(
        http,
        {
            "resourceType": "Patient",
            "identifier": [{"system": SYSTEM_PERSONNUMMER, "value": pnr(11)}],
            "generalPractitioner": [{"reference": f"Organization/{unit}"}],
        },
    )
    # Listed by a logical reference, protected identity.
    _post(
        http,
        {
            "resourceType": "Patient",
            "meta": {
                "security": [
                    {
                        "system": "http://hl7.se/fhir/ig/base/CodeSystem/sekretess",
                        "code": "skyddadFolkbokforing",
                    }
                ]
            },
            "identifier": [{"system": SYSTEM_PERSONNUMMER, "value": pnr(12)}],
            "generalPractitioner": [
                {"identifier": {"system": SYSTEM_HSA_ID, "value": hsa_of("vc-halmstad-norr")}}
            ],
        },
    )
    # Known, but without a general practitioner.
    _post(
        http,
        {
            "resourceType": "Patient",
            "identifier": [{"system": SYSTEM_PERSONNUMMER, "value": pnr(13)}],
        },
    )
    # Two records for one person pointing at two units (a broken region register).
    for org in (unit, other):
        _post(
            http,
            {
                "resourceType": "Patient",
                "identifier": [{"system": SYSTEM_PERSONNUMMER, "value": pnr(14)}],
                "generalPractitioner": [{"reference": f"Organization/{org}"}],
            },
        )


def make_source(
    servers: dict[str, str],
    timeout: float = 5.0,
    search: str = "Patient?identifier={system}|{value}",
) -> FhirListingSource:
    return FhirListingSource(
        servers,
        search=search,
        timeout=timeout,
        max_response_bytes=1024 * 1024,
    )


def pid(serial: int) -> PersonId:
    return PersonId.parse(SYSTEM_PERSONNUMMER, pnr(serial))


def test_listing_by_literal_reference(region_server: str) -> None:
    answer = make_source({"06": region_server}).lookup(pid(11), "21")
    assert [(x.hsa_id, x.lanskod, x.listing_type) for x in answer.listings] == [
        (hsa_of("vc-jonkoping-centrum"), "06", "PV")
    ]
    assert answer.protected_identity is False


def test_listing_by_logical_reference_and_protected_label(region_server: str) -> None:
    answer = make_source({"06": region_server}).lookup(pid(12), "21")
    assert [x.hsa_id for x in answer.listings] == [hsa_of("vc-halmstad-norr")]
    assert answer.protected_identity is True


def test_no_general_practitioner_and_unknown_person(region_server: str) -> None:
    source = make_source({"06": region_server})
    assert source.lookup(pid(13), "06").listings == ()
    assert source.lookup(pid(99), "06").listings == ()


def test_the_person_number_is_in_no_request_line_the_server_receives(
    region_peer: tuple[str, RequestLines],
) -> None:
    """The search goes as POST [base]/Patient/_search with a form body: a query string
    would leave the person number in the access log of the server and of every proxy."""
    base, recorded = region_peer
    source = make_source({"06": base})
    before = len(recorded.seen())
    for serial in (11, 12, 13, 99):
        source.lookup(pid(serial), "06")
    lines = recorded.seen()[before:]
    assert lines.count("POST /fhir/Patient/_search HTTP/1.1") == 4, lines
    assert any(line.startswith("GET /fhir/Organization/") for line in lines), lines
    for serial in (11, 12, 13, 99):
        assert not [line for line in lines if pnr(serial) in line], lines


def test_a_search_that_is_no_type_with_parameters_is_refused_at_once() -> None:
    for search in ("Patient", "Patient/_search", "?identifier={value}", "Patient?x={name}"):
        with pytest.raises(ValueError, match="KVGW_LISTING_FHIR_SEARCH"):
            make_source({"06": "http://127.0.0.1:9/fhir"}, search=search)


def test_the_demo_journal_answers_the_post_search_as_a_listing_service() -> None:
    journal = JournalSystem(require_auth=False)
    journal.list_person(SYSTEM_PERSONNUMMER, pnr(21), hsa_of("vc-gavle-sodra"))
    journal.list_person(SYSTEM_PERSONNUMMER, pnr(22), hsa_of("vc-sodermalm"))
    recorded = RequestLines(journal.app())
    with serve(recorded) as base:
        source = make_source({"21": f"{base}/fhir"})
        found = source.lookup(pid(21), "21")
        unknown = source.lookup(pid(23), "21")
    assert [(x.hsa_id, x.lanskod) for x in found.listings] == [(hsa_of("vc-gavle-sodra"), "21")]
    assert unknown.listings == ()
    assert recorded.seen() == ["POST /fhir/Patient/_search HTTP/1.1"] * 2
    assert journal.arrivals == []  # a lookup is no delivery


def test_unreachable_server_is_unavailable_but_another_answer_wins(region_server: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}/fhir"
    with pytest.raises(SourceUnavailable) as caught:
        make_source({"13": dead}).lookup(pid(11), "06")
    assert caught.value.reason == "transport"
    answer = make_source({"06": region_server, "13": dead}).lookup(pid(11), "06")
    assert [x.hsa_id for x in answer.listings] == [hsa_of("vc-jonkoping-centrum")]
    assert answer.notes == ("fhir-partial",)


# ----- end to end -------------------------------------------------------------------------


@pytest.fixture
def fhir_app(app: FastAPI, demo: None, region_server: str, hasher: ListingHasher) -> FastAPI:
    # Region 21's residents are looked up on Region Jönköping's FHIR server.
    app.state.listing_resolver = ListingResolver(
        {"fhir": make_source({"06": region_server})},
        {"*": ["fhir"]},
        hasher,
        cache_seconds=0,
    )
    return app


@pytest.mark.usefixtures("fhir_app")
def test_fhir_source_end_to_end(resolve: Resolve) -> None:
    routed = resolve(pnr(11), "2180")
    assert routed.status_code == 200, routed.text
    assert out(routed.json(), "organization")["reference"] == "Organization/vc-jonkoping-centrum"
    assert out(routed.json(), "source") == "fhir"
    protected = resolve(pnr(12), "2180").json()
    assert out(protected, "protectedIdentity") is True
    assert out(protected, "connectionType")["code"] == "inbox"
    assert resolve(pnr(13), "2180").status_code == 404
    ambiguous = resolve(pnr(14), "2180")
    assert ambiguous.status_code == 422
    assert outcome_code(ambiguous.json()) == "ambiguous-listing"
