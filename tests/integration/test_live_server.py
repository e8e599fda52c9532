"""Against a real uvicorn server: concurrent versioned updates, and a third-party FHIR client."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fhirpy import SyncFHIRClient

from gateway.app import create_app
from gateway.security.caller import PartyKind
from gateway.settings import Settings
from tests.support.auth import ASSERTION_TYPE, assertion, register_client
from tests.support.fhir_data import FHIR_JSON, organization, patient, personnummer
from tests.support.live_server import free_port, serve


@dataclass(frozen=True)
class Live:
    base: str
    auth: dict[str, str]


@pytest.fixture
def live(settings: Settings, engine: Any) -> Iterator[Live]:
    """A live gateway under uvicorn, and an operator's real access token for it."""
    port = free_port()
    live_settings = settings.model_copy(update={"public_base_url": f"http://127.0.0.1:{port}"})
    app: FastAPI = create_app(live_settings, engine=engine)
    operator = register_client(app, "Organization/operator", PartyKind.OPERATOR)
    with serve(app, port) as base:
        response = httpx.post(
            f"{base}/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": assertion(operator, aud=f"{base}/auth/token"),
                "scope": "system/*.cruds",
            },
        )
        yield Live(base, {"authorization": f"Bearer {response.json()['access_token']}"})


def test_two_concurrent_versioned_updates_one_wins_one_gets_412(live: Live) -> None:
    created = httpx.post(
        f"{live.base}/fhir/Organization", json=organization(), headers={**FHIR_JSON, **live.auth}
    ).json()
    url = f"{live.base}/fhir/Organization/{created['id']}"
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def update(name: str) -> None:
        body = {**created, "name": name}
        with httpx.Client() as http:
            barrier.wait()
            response = http.put(
                url, json=body, headers={**FHIR_JSON, **live.auth, "if-match": 'W/"1"'}
            )
            statuses.append(response.status_code)

    threads = [threading.Thread(target=update, args=(n,)) for n in ("Ett", "Två")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 412]
    current = httpx.get(url, headers=live.auth).json()
    assert current["meta"]["versionId"] == "2"
    history = httpx.get(f"{url}/_history", headers=live.auth).json()
    assert history["total"] == 2


def _raw_exchange(base: str, request: str) -> bytes:
    """What the server sends back for ``request`` until it closes the connection."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request.encode("latin-1"))
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return received


def test_head_sends_the_headers_of_a_get_and_no_body(live: Live) -> None:
    created = httpx.post(
        f"{live.base}/fhir/Patient", json=patient(41), headers={**FHIR_JSON, **live.auth}
    ).json()
    path = f"/fhir/Patient/{created['id']}"
    got = httpx.get(f"{live.base}{path}", headers=live.auth)
    request = (
        f"HEAD {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: {live.auth['authorization']}\r\nConnection: close\r\n\r\n"
    )
    head, _, body = _raw_exchange(live.base, request).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head
    assert body == b""
    assert f"content-length: {len(got.content)}".encode() in head.lower()
    assert f"etag: {got.headers['etag']}".lower().encode() in head.lower()


def test_concurrent_conditional_creates_make_one_resource(live: Live) -> None:
    body = patient(40)
    headers = {**FHIR_JSON, **live.auth, "if-none-exist": f"identifier={personnummer(40)}"}
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def create() -> None:
        with httpx.Client() as http:
            barrier.wait()
            statuses.append(
                http.post(f"{live.base}/fhir/Patient", json=body, headers=headers).status_code
            )

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 200, 200, 201]
    assert httpx.get(f"{live.base}/fhir/Patient", headers=live.auth).json()["total"] == 1


def test_fhirpy_creates_reads_searches_and_pages(live: Live) -> None:
    client = SyncFHIRClient(
        f"{live.base}/fhir", extra_headers={"Accept": "application/fhir+json", **live.auth}
    )
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
