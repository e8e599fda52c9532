"""The carelisting source over SOAP against a real producer on loopback, and end to end
through $resolve-route."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from gateway.rivta.soap import SoapClient
from gateway.routing.listing_sources import SourceUnavailable
from gateway.routing.listing_sources.rivta_carelisting import (
    ACTION_COUNTY,
    ACTION_LISTING,
    RivtaCarelistingSource,
)
from gateway.routing.person import ListingHasher, PersonId
from gateway.routing.resolver import ListingResolver
from gateway.validation.identifiers import SYSTEM_PERSONNUMMER, synthetic_personnummer
from tests.integration.routing.carelisting_peer import CarelistingPeer, Scenario
from tests.integration.routing.conftest import Resolve, hsa_of, out, outcome_code, steps
from tests.support.live_server import free_port, serve

TODAY = datetime.date.today()
PAST = "2019-02-01"
FUTURE = (TODAY + datetime.timedelta(days=30)).isoformat()
YESTERDAY = (TODAY - datetime.timedelta(days=1)).isoformat()


def pnr(serial: int) -> str:
    return synthetic_personnummer(datetime.date(1970, 1, 1), serial)


def pid(serial: int) -> PersonId:
    return PersonId.parse(SYSTEM_PERSONNUMMER, pnr(serial))


@pytest.fixture(scope="module")
def peer() -> Iterator[tuple[CarelistingPeer, str]]:
    producer = CarelistingPeer()
    with serve(producer.app) as base:
        yield producer, base


@pytest.fixture
def source(peer: tuple[CarelistingPeer, str]) -> Iterator[RivtaCarelistingSource]:
    producer, base = peer
    producer.people.clear()
    producer.received.clear()
    client = SoapClient(timeout=1.0, max_response_bytes=1024 * 1024)
    yield RivtaCarelistingSource(
        client,
        county_url=f"{base}/GetListingCounty",
        listing_url=f"{base}/GetListing",
        actor_id="SE2321000016-KVGW",
    )
    client.close()


def test_county_then_listing_with_logical_addresses(
    peer: tuple[CarelistingPeer, str], source: RivtaCarelistingSource
) -> None:
    producer, _ = peer
    producer.people[pnr(101)] = Scenario(
        counties=["06"],
        listings={
            "06": [
                ("SE2321000057-VC1001", "PV", PAST, None, False),
                ("SE2321000057-OLD01", "PV", "2010-01-01", "2018-12-31", False),
            ]
        },
    )
    answer = source.lookup(pid(101), "21")
    assert [item.hsa_id for item in answer.listings] == [
        "SE2321000057-VC1001",
        "SE2321000057-OLD01",
    ]
    first = answer.listings[0]
    assert first.listing_type == "PV"
    assert first.valid_from == datetime.date(2019, 2, 1)
    assert first.valid_to is None
    assert first.lanskod == "06"
    assert answer.listings[1].valid_to == datetime.date(2018, 12, 31)
    county, listing = producer.received
    # GetListingCounty goes to the folkbokföring region, GetListing to the listing region.
    assert (county.operation, county.logical_address) == ("GetListingCounty", "21")
    assert (listing.operation, listing.logical_address) == ("GetListing", "06")
    assert county.soap_action == f'"{ACTION_COUNTY}"'
    assert listing.soap_action == f'"{ACTION_LISTING}"'
    assert county.person_root == "1.2.752.129.2.1.3.1"
    assert county.person_extension == pnr(101)
    assert county.actor_id == "SE2321000016-KVGW"


def test_samordningsnummer_is_sent_with_its_own_root(
    peer: tuple[CarelistingPeer, str], source: RivtaCarelistingSource
) -> None:
    producer, _ = peer
    from gateway.validation.identifiers import synthetic_samordningsnummer

    number = synthetic_samordningsnummer(datetime.date(1990, 5, 5), 321)
    source.lookup(PersonId.parse("urn:oid:1.2.752.129.2.1.3.3", number), "01")
    assert producer.received[0].person_root == "1.2.752.129.2.1.3.3"


def test_info_result_is_an_answer_with_a_note(
    peer: tuple[CarelistingPeer, str], source: RivtaCarelistingSource
) -> None:
    producer, _ = peer
    producer.people[pnr(102)] = Scenario(counties=["13"], listing_result="INFO")
    answer = source.lookup(pid(102), "13")
    assert answer.listings == ()
    assert "rivta-listing-info" in answer.notes


def test_queued_listings_do_not_count(
    peer: tuple[CarelistingPeer, str], source: RivtaCarelistingSource
) -> None:
    producer, _ = peer
    producer.people[pnr(103)] = Scenario(
        counties=["13"], listings={"13": [("SE2321000131-VC3001", "PV", PAST, None, True)]}
    )
    assert source.lookup(pid(103), "13").listings == ()


@pytest.mark.parametrize(
    ("scenario", "reason"),
    [
        (Scenario(counties=["06"], listing_result="ERROR"), "result-error"),
        (Scenario(county_result="ERROR"), "result-error"),
        (Scenario(special="fault"), "soap-fault"),
        (Scenario(special="slow"), "timeout"),
        (Scenario(special="malformed"), "malformed-response"),
        (Scenario(special="xxe"), "unsafe-xml"),
        (Scenario(special="laughs"), "unsafe-xml"),
        (Scenario(special="huge"), "too-large"),
        (Scenario(special="http-503"), "http-status"),
    ],
)
def test_failures_make_the_source_unavailable(
    peer: tuple[CarelistingPeer, str],
    source: RivtaCarelistingSource,
    scenario: Scenario,
    reason: str,
) -> None:
    producer, _ = peer
    producer.people[pnr(104)] = scenario
    with pytest.raises(SourceUnavailable) as caught:
        source.lookup(pid(104), "06")
    assert caught.value.reason == reason
    # Nothing about the person in what is raised.
    assert pnr(104) not in str(caught.value)
    assert pnr(104) not in caught.value.detail


def test_an_unreachable_producer_is_unavailable() -> None:
    client = SoapClient(timeout=1.0, max_response_bytes=1024)
    dead = f"http://127.0.0.1:{free_port()}"
    source = RivtaCarelistingSource(
        client, county_url=f"{dead}/c", listing_url=f"{dead}/l", actor_id="SE2321000016-KVGW"
    )
    with pytest.raises(SourceUnavailable) as caught:
        source.lookup(pid(105), "06")
    assert caught.value.reason == "transport"
    client.close()


# ----- end to end through $resolve-route --------------------------------------------------


@pytest.fixture
def rivta_app(
    app: FastAPI, demo: None, source: RivtaCarelistingSource, hasher: ListingHasher
) -> FastAPI:
    app.state.listing_resolver = ListingResolver(
        {"rivta": source}, {"*": ["rivta"]}, hasher, cache_seconds=0
    )
    return app


@pytest.mark.usefixtures("rivta_app")
def test_rivta_routes_across_regions_end_to_end(
    peer: tuple[CarelistingPeer, str], resolve: Resolve
) -> None:
    producer, _ = peer
    producer.people[pnr(201)] = Scenario(
        counties=["06"],
        listings={"06": [(hsa_of("vc-jonkoping-centrum"), "PV", PAST, None, False)]},
    )
    response = resolve(pnr(201), "2180")
    assert response.status_code == 200, response.text
    body = response.json()
    assert out(body, "organization")["reference"] == "Organization/vc-jonkoping-centrum"
    assert out(body, "source") == "rivta"
    assert producer.received[0].logical_address == "21"


@pytest.mark.usefixtures("rivta_app")
def test_rivta_outcomes_end_to_end(peer: tuple[CarelistingPeer, str], resolve: Resolve) -> None:
    producer, _ = peer
    producer.people[pnr(202)] = Scenario(counties=[])  # listed nowhere
    producer.people[pnr(203)] = Scenario(
        counties=["01", "13"],
        listings={
            "01": [(hsa_of("vc-sodermalm"), "PV", PAST, None, False)],
            "13": [(hsa_of("vc-halmstad-norr"), "PV", PAST, FUTURE, False)],
        },
    )
    producer.people[pnr(204)] = Scenario(
        counties=["01"],
        listings={
            "01": [
                (hsa_of("vc-sodermalm"), "PV", PAST, YESTERDAY, False),
                (hsa_of("vc-halmstad-norr"), "PV", FUTURE, None, False),
            ]
        },
    )
    producer.people[pnr(205)] = Scenario(special="fault")
    producer.people[pnr(206)] = Scenario(
        counties=["01"], listings={"01": [("SE2321000016-GONE1", "PV", PAST, None, False)]}
    )
    assert outcome_code(resolve(pnr(202), "0180").json()) == "not-listed"
    ambiguous = resolve(pnr(203), "0180")
    assert ambiguous.status_code == 422
    assert outcome_code(ambiguous.json()) == "ambiguous-listing"
    # Ended yesterday and starting in a month: not listed today.
    assert resolve(pnr(204), "0180").status_code == 404
    unavailable = resolve(pnr(205), "0180")
    assert unavailable.status_code == 503
    assert unavailable.headers["retry-after"] == "30"
    assert outcome_code(unavailable.json()) == "source-unavailable"
    assert "source-unavailable:rivta" in steps(unavailable.json())
    missing = resolve(pnr(206), "0180")
    assert missing.status_code == 422
    assert outcome_code(missing.json()) == "unit-not-in-directory"
