"""The fhir-rest tests' world: the demo directory, a real journal system on loopback (a SMART
authorisation server and a FHIR server, :mod:`gateway.demo_peers.fhir_journal`) that the
gateway reaches through the fhir-rest adapter, and real tokens for a kommun and a unit."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey, RSAKey
from sqlalchemy import select
from starlette.responses import Response, StreamingResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.journal.fhir_rest import FhirRestAdapter
from adapters.journal.fhir_rest.config import FhirRestSettings, MutualTls, PeerProfile, SmartClient
from gateway.delivery.models import OutboxMessage
from gateway.delivery.poller import PollReport
from gateway.demo_peers.fhir_journal import JournalSystem
from gateway.routing.demo_directory import PERSONS, DemoPeers, seed_demo
from gateway.security.caller import PartyKind
from gateway.store.resources import ResourceStore
from tests.support.auth import bearer, register_client
from tests.support.fhir_data import FHIR_JSON
from tests.support.live_server import serve
from tests.support.submissions import submission

GAVLE = "Organization/kommun-2180"
JONKOPING_VC = "Organization/vc-jonkoping-centrum"
ANNA = next(p for p in PERSONS if p.key == "anna")  # lives in Gävle, listed in Jönköping
BENGT = next(p for p in PERSONS if p.key == "bengt")  # listed at Södermalm (also fhir-rest)
GATEWAY_CLIENT = "kv-gateway"
PROFILE = "test"


ENDLESS_CHUNK = 64 * 1024
ENDLESS_STOP = 256 * 1024 * 1024  # bounds the test if a client reads on regardless


class Faults:
    """ASGI middleware in front of the journal system: ``ok``, ``down`` (503 everywhere),
    ``garbage`` (HTML with 500 on the FHIR API), ``garbage-ok`` (HTML with 200),
    ``endless`` (a 200 FHIR answer that never ends; ``sent`` counts its bytes) or
    ``lost-reply`` (the journal system takes the request, but the reply is lost on the way:
    a 502 from the proxy in front)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.mode = "ok"
        self.sent = 0

    async def _endless(self) -> AsyncIterator[bytes]:
        yield b'{"resourceType":"Bundle","type":"transaction-response","entry":['
        while self.sent < ENDLESS_STOP:
            self.sent += ENDLESS_CHUNK
            yield b" " * ENDLESS_CHUNK
            # Let the server notice a client that hung up (it then stops this stream);
            # a send to a closed connection is otherwise silently dropped.
            await asyncio.sleep(0.001)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.mode != "ok":
            fhir = str(scope.get("path", "")).startswith("/fhir")
            if self.mode == "down":
                await Response("busy", status_code=503)(scope, receive, send)
                return
            if self.mode == "endless" and fhir:
                await StreamingResponse(self._endless(), media_type="application/fhir+json")(
                    scope, receive, send
                )
                return
            if self.mode == "lost-reply" and fhir:

                async def dropped(message: Message) -> None:
                    return None

                await self.app(scope, receive, dropped)
                await Response("bad gateway", status_code=502)(scope, receive, send)
                return
            if self.mode.startswith("garbage") and fhir:
                status = 200 if self.mode == "garbage-ok" else 500
                body = b"<html><body>Internal proxy error</body>"
                await Response(body, status_code=status, media_type="text/html")(
                    scope, receive, send
                )
                return
        await self.app(scope, receive, send)


@dataclass
class FhirWorld:
    app: FastAPI
    http: TestClient
    kommun: dict[str, str]
    unit: dict[str, str]
    journal: JournalSystem
    faults: Faults
    peer_base: str
    folder: Path
    gateway_key: ECKey | RSAKey = field(repr=False)
    key_file: Path = field(repr=False)

    # ----- the adapter's configuration ------------------------------------------------------

    def smart(self, **changes: Any) -> SmartClient:
        values: dict[str, Any] = {
            "token_url": f"{self.peer_base}/auth/token",
            "client_id": GATEWAY_CLIENT,
            "key_file": self.key_file,
            "alg": "ES384",
        }
        values.update(changes)
        return SmartClient(**values)

    def use(self, **profile: Any) -> FhirRestAdapter:
        """Reach the fhir-rest units with this profile from now on."""
        adapter = FhirRestAdapter(FhirRestSettings(profiles={PROFILE: PeerProfile(**profile)}))
        self.app.state.registry.register(adapter)
        return adapter

    def repoint(self, base: str) -> None:
        """Point the demo fhir-rest Endpoints at another peer base (``…/fhir``)."""
        with self.app.state.session_factory() as session, session.begin():
            seed_demo(
                ResourceStore(session),
                self.app.state.validator,
                DemoPeers(base, PROFILE),
                self.app.state.settings,
            )

    # ----- the gateway ----------------------------------------------------------------------

    def submit(self, personnummer: str = ANNA.personnummer, **kwargs: Any) -> dict[str, Any]:
        response = self.http.post(
            "/fhir/ServiceRequest/$submit",
            json=submission(personnummer, GAVLE, **kwargs),
            headers={**self.kommun, **FHIR_JSON},
        )
        assert response.status_code == 201, response.text
        task: dict[str, Any] = response.json()
        return task

    def deliver(self) -> int:
        return int(self.app.state.worker.drain())

    def poll(self) -> PollReport:
        report: PollReport = self.app.state.poller.run_once()
        return report

    def task(self, task_id: str) -> dict[str, Any]:
        response = self.http.get(f"/fhir/Task/{task_id}", headers=self.kommun)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def messages(self, kind: str = "journal-request") -> list[OutboxMessage]:
        with self.app.state.session_factory() as session:
            return list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))

    def remote(self, task_id: str) -> dict[str, Any]:
        found = self.journal.task_for(task_id)
        assert found is not None, "the journal system has the request"
        return found


def new_gateway_key(folder: Path, alg: str = "ES384") -> tuple[ECKey | RSAKey, Path]:
    key: ECKey | RSAKey = (
        ECKey.generate_key("P-384") if alg == "ES384" else RSAKey.generate_key(2048)
    )
    kid = f"gw-{alg.lower()}"
    path = folder / f"gateway-{alg}.jwk.json"
    path.write_text(json.dumps({**key.as_dict(private=True), "kid": kid, "alg": alg}))
    return key, path


def public_jwks(key: ECKey | RSAKey, alg: str = "ES384") -> dict[str, Any]:
    return {"keys": [{**key.as_dict(private=False), "kid": f"gw-{alg.lower()}", "alg": alg}]}


@pytest.fixture
def fhir_world(app: FastAPI, anonymous: TestClient, tmp_path: Path) -> Iterator[FhirWorld]:
    journal = JournalSystem(require_auth=True)
    key, key_file = new_gateway_key(tmp_path)
    journal.auth.register(GATEWAY_CLIENT, public_jwks(key))
    faults = Faults(journal.app())
    with serve(faults) as peer_base:
        kommun = register_client(app, GAVLE, PartyKind.KOMMUN)
        unit = register_client(app, JONKOPING_VC, PartyKind.VARDCENTRAL)
        world = FhirWorld(
            app,
            anonymous,
            bearer(anonymous, kommun),
            bearer(anonymous, unit),
            journal,
            faults,
            peer_base,
            tmp_path,
            key,
            key_file,
        )
        world.repoint(f"{peer_base}/fhir")
        world.use(smart=world.smart())
        yield world


__all__ = ["FhirWorld", "MutualTls", "fhir_world"]
