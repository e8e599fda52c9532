"""Against a real uvicorn server: concurrent versioned updates, and a third-party FHIR client."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fhirpy import SyncFHIRClient

from gateway.app import create_app
from gateway.settings import Settings
from tests.support.fhir_data import FHIR_JSON, organization, patient, personnummer
from tests.support.live_server import free_port, serve


@pytest.fixture
def live_base(settings: Settings, engine: Any) -> Iterator[str]:
    port = free_port()
    live_settings = settings.model_copy(update={"public_base_url": f"http://127.0.0.1:{port}"})
    app: FastAPI = create_app(live_settings, engine=engine)
    with serve(app, port) as base:
        yield base


def test_two_concurrent_versioned_updates_one_wins_one_gets_412(live_base: str) -> None:
    created = httpx.post(
        f"{live_base}/fhir/Organization", json=organization(), headers=FHIR_JSON
    ).json()
    url = f"{live_base}/fhir/Organization/{created['id']}"
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def update(name: str) -> None:
        body = {**created, "name": name}
        with httpx.Client() as http:
            barrier.wait()
            response = http.put(url, json=body, headers={**FHIR_JSON, "if-match": 'W/"1"'})
            statuses.append(response.status_code)

    threads = [threading.Thread(target=update, args=(n,)) for n in ("Ett", "Två")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 412]
    current = httpx.get(url).json()
    assert current["meta"]["versionId"] == "2"
    history = httpx.get(f"{url}/_history").json()
    assert history["total"] == 2


def test_concurrent_conditional_creates_make_one_resource(live_base: str) -> None:
    body = patient(40)
    headers = {**FHIR_JSON, "if-none-exist": f"identifier={personnummer(40)}"}
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def create() -> None:
        with httpx.Client() as http:
            barrier.wait()
            statuses.append(
                http.post(f"{live_base}/fhir/Patient", json=body, headers=headers).status_code
            )

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 200, 200, 201]
    assert httpx.get(f"{live_base}/fhir/Patient").json()["total"] == 1


def test_fhirpy_creates_reads_searches_and_pages(live_base: str) -> None:
    client = SyncFHIRClient(f"{live_base}/fhir", extra_headers={"Accept": "application/fhir+json"})
    created = []
    for i in range(12):
        org = client.resource("Organization", name=f"Hälsocentral {i:02d}", active=True)
        org.save()
        created.append(org.id)
    fetched = client.reference("Organization", created[0]).to_resource()
    assert fetched["name"] == "Hälsocentral 00"
    matches = client.resources("Organization").search(name="halsocentral 01").fetch()
    assert [m.id for m in matches] == [created[1]]
    everything = client.resources("Organization").limit(5).fetch_all()
    assert sorted(r.id for r in everything) == sorted(created)
    first_page = client.resources("Organization").limit(5).fetch()
    assert len(first_page) == 5
    fetched["name"] = "Omdöpt"
    fetched.save()
    assert client.reference("Organization", created[0]).to_resource()["meta"]["versionId"] == "2"
    fetched.delete()
    assert client.resources("Organization").search(_id=created[0]).fetch() == []
