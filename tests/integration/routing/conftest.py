"""Fixtures for the routing tests: the demo directory in the test database, helpers to
ask ``$resolve-route``, and listing-register rows written straight into the table."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from gateway.routing import demo_directory
from gateway.routing.listing_register import add_listing
from gateway.routing.person import ListingHasher
from gateway.settings import Settings
from gateway.store.resources import ResourceStore
from gateway.validation.identifiers import SYSTEM_HSA_ID, SYSTEM_PERSONNUMMER
from gateway.validation.pipeline import ValidationPipeline

PEER = "http://journal-peer.invalid/fhir"
Resolve = Callable[..., Response]


def hsa_of(unit_key: str) -> str:
    unit = next(u for u in demo_directory.UNITS if u.key == unit_key)
    return demo_directory._hsa_id(unit)


def person(key: str) -> demo_directory.DemoPerson:
    return next(p for p in demo_directory.PERSONS if p.key == key)


@pytest.fixture
def demo(app: FastAPI, settings: Settings) -> None:
    """The reference load plus the demo directory, listings and vägval."""
    with app.state.session_factory() as session, session.begin():
        demo_directory.seed_demo(
            ResourceStore(session), ValidationPipeline(), demo_directory.DemoPeers(PEER), settings
        )


@pytest.fixture
def hasher(settings: Settings) -> ListingHasher:
    return ListingHasher(settings.listing_hash_key.get_secret_value().encode())


@pytest.fixture
def add_row(app: FastAPI, hasher: ListingHasher) -> Callable[..., None]:
    def add(
        personnummer: str,
        hsa_id: str,
        lanskod: str = "06",
        *,
        listing_type: str = "PV",
        valid_from: datetime.date = datetime.date(2020, 1, 1),
        valid_to: datetime.date | None = None,
        protected: bool = False,
    ) -> None:
        with app.state.engine.begin() as connection:
            add_listing(
                connection,
                hasher.raw(SYSTEM_PERSONNUMMER, personnummer),
                hsa_id,
                lanskod,
                listing_type=listing_type,
                valid_from=valid_from,
                valid_to=valid_to,
                protected_identity=protected,
            )

    return add


def parameters(personnummer: str, kommunkod: str, **extra: Any) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {
            "name": "person",
            "valueIdentifier": {"system": SYSTEM_PERSONNUMMER, "value": personnummer},
        },
        {"name": "kommunkod", "valueString": kommunkod},
    ]
    for name, value in extra.items():
        key = "valueBoolean" if isinstance(value, bool) else "valueString"
        params.append({"name": name, key: value})
    return {"resourceType": "Parameters", "parameter": params}


@pytest.fixture
def resolve(client: TestClient) -> Resolve:
    def call(personnummer: str, kommunkod: str, **extra: Any) -> Response:
        return client.post(
            "/fhir/$resolve-route",
            json=parameters(personnummer, kommunkod, **extra),
            headers={"content-type": "application/fhir+json"},
        )

    return call


def out(body: dict[str, Any], name: str) -> Any:
    """The value of the one output parameter ``name``."""
    found = [p for p in body["parameter"] if p["name"] == name]
    assert len(found) == 1, name
    value = next(v for k, v in found[0].items() if k.startswith("value"))
    return value


def steps(body: dict[str, Any]) -> list[str]:
    if body["resourceType"] == "OperationOutcome":
        return [i["details"]["coding"][0]["code"] for i in body["issue"][1:]]
    return [
        next(part["valueCode"] for part in p["part"] if part["name"] == "code")
        for p in body["parameter"]
        if p["name"] == "step"
    ]


def outcome_code(body: dict[str, Any]) -> str:
    assert body["resourceType"] == "OperationOutcome"
    code: str = body["issue"][0]["details"]["coding"][0]["code"]
    return code


__all__ = ["SYSTEM_HSA_ID", "hsa_of", "out", "outcome_code", "parameters", "person", "steps"]
