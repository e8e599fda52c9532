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


def pnr(serial: int) -> str:
    return synthetic_personnummer(datetime.date(1981, 7, 7), serial)


@pytest.fixture(scope="module")
def region_server(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Region Jönköping's FHIR server: our own gateway app, demo identity, own database."""
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
    with serve(region_app, port=port) as base:
        yield f"{base}/fhir"


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


def make_source(servers: dict[str, str], timeout: float = 5.0) -> FhirListingSource:
    return FhirListingSource(
        servers,
        search="Patient?identifier={system}|{value}",
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
