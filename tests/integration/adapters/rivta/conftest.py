"""The rivta tests' world, all on loopback with real TLS:

- the gateway under uvicorn, behind a TLS edge that verifies client certificates and
  forwards them (:func:`tests.integration.adapters.rivta.pki.edge`);
- a care unit's journal system (:mod:`gateway.demo_peers.rivta_journal`) under uvicorn
  with TLS that demands a client certificate, able to misbehave on request;
- certificates from a test CA: the gateway's, the journal system's, the platform's, a
  stranger's, and one from a rogue CA;
- the demo directory, with the RIVTA unit (Hälsocentralen Gävle Södra) reached at the
  journal system, and an anropsbehörighet for the journal system to answer for it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from starlette.responses import Response

from adapters.journal.rivta import RivtaAdapter, RivtaJournalSettings
from gateway.delivery.models import OutboxMessage
from gateway.demo_peers.rivta_journal import GatewayLink, RivtaJournal
from gateway.rivta.contract import (
    APPLICATION_ERROR,
    NS_UPDATE,
    PROCESS,
    TECHNICAL_ERROR,
    VALIDATION_ERROR,
    MedicalStatementRequest,
    Result,
    request_response_envelope,
)
from gateway.rivta.safe_xml import build_fault
from gateway.rivta.soap import SOAP_ENV, TlsConfig
from gateway.routing import routing_table
from gateway.routing.demo_directory import (
    PERSONS,
    RIVTA_JOURNAL_SYSTEM_HSA_ID,
    DemoPeers,
    seed_demo,
    unit_hsa_id,
)
from gateway.security.caller import PartyKind
from gateway.settings import AuthMode, Settings
from gateway.store.resources import ResourceStore, utc_now
from gateway.validation.identifiers import SYSTEM_HSA_ID
from tests.conftest import TEST_BASE_URL
from tests.integration.adapters.rivta.edge import edge
from tests.support.auth import bearer, register_client
from tests.support.fhir_data import FHIR_JSON
from tests.support.live_server import serve
from tests.support.pki import Authority, KeyPair, serve_tls
from tests.support.submissions import submission

GATEWAY_HSA = "SE2321000016-KVGW"
# The journal system Gävle Södra's staff work in; the demo seed authorises it for the unit.
JOURNAL_HSA = RIVTA_JOURNAL_SYSTEM_HSA_ID
PLATFORM_HSA = "SE2321000016-NTJP"
STRANGER_HSA = "SE2321000057-XYZ9"
CERT_HEADER = "x-kvgw-client-cert"
UNIT = "vc-gavle-sodra"
UNIT_HSA = unit_hsa_id(UNIT)
OTHER_UNIT_HSA = unit_hsa_id("vc-halmstad-norr")
JONKOPING = "Organization/kommun-0680"
DAVID = next(p for p in PERSONS if p.key == "david")  # lives in Jönköping, listed in Gävle
ENDPOINT = f"ep-{UNIT}"
SINCE = datetime(2020, 1, 1, tzinfo=UTC)
ANSWER_PATH = "/rivta/UpdateMedicalStatementRequest/1/rivtabp21"


@dataclass(frozen=True)
class Pki:
    ca: Authority
    rogue: Authority
    peer_server: KeyPair
    edge_server: KeyPair
    gateway: KeyPair
    journal: KeyPair
    platform: KeyPair
    stranger: KeyPair
    rogue_journal: KeyPair


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("rivta-pki")
    ca = Authority(folder, "ntjp-test")
    rogue = Authority(folder, "rogue")
    return Pki(
        ca=ca,
        rogue=rogue,
        peer_server=ca.server("peer-server"),
        edge_server=ca.server("edge-server"),
        gateway=ca.client("gateway", GATEWAY_HSA),
        journal=ca.client("journal", JOURNAL_HSA),
        platform=ca.client("platform", PLATFORM_HSA),
        stranger=ca.client("stranger", STRANGER_HSA),
        rogue_journal=rogue.client("rogue-journal", JOURNAL_HSA),
    )


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        auth_mode=AuthMode.SMART,
        public_base_url=TEST_BASE_URL,
        rate_limit_per_minute=0,
        delivery_worker_in_process=False,  # the tests drain the outbox themselves
        mtls_client_cert_header=CERT_HEADER,
        rivta_actor_id=GATEWAY_HSA,
        rivta_platform_hsa_ids=[PLATFORM_HSA],
    )


class Journal(RivtaJournal):
    """The demo journal system, with modes for the failure tests."""

    mode = "ok"
    RESULTS: dict[str, Result] = {  # noqa: RUF012 - a table, never changed
        "error-validation": Result.error(VALIDATION_ERROR, "Bundle saknar ServiceRequest."),
        "error-application": Result.error(APPLICATION_ERROR, "Enheten tar inte emot."),
        "error-technical": Result.error(TECHNICAL_ERROR, "Databasen svarar inte."),
        "info": Result.info("Mottagen; kopplas till journalen i natt."),
    }
    FAULTS: dict[str, str] = {  # noqa: RUF012
        "fault": "java.lang.NullPointerException",
        "vp007": f"VP007 Authorization missing for serviceNamespace: {PROCESS}",
        "vp009": "VP009 Error connecting to service producer at address https://x",
        "vp004": "VP004 No Logical Adress found for serviceNamespace",
    }

    def respond(self, address: str | None, message: MedicalStatementRequest) -> Response:
        if self.mode == "down":
            return Response("Service Unavailable", 503)
        if self.mode == "not-xml":
            return Response(b"<html><body>Proxy error", 200, media_type="text/html")
        if self.mode == "invalid-xsd":
            inner = (
                f'<ProcessMedicalStatementRequestResponse xmlns="urn:riv:kvgateway:'
                f'medicalstatement:{PROCESS}Responder:1"><result><resultCode>KANSKE'
                "</resultCode></result></ProcessMedicalStatementRequestResponse>"
            )
            body = (
                f'<?xml version="1.0"?><s:Envelope xmlns:s="{SOAP_ENV}"><s:Body>{inner}'
                "</s:Body></s:Envelope>"
            )
            return Response(body, 200, media_type="text/xml")
        if self.mode in self.FAULTS:
            return Response(build_fault("Server", self.FAULTS[self.mode]), 500)
        if self.mode in self.RESULTS:
            with self._lock:
                self.received.setdefault(message.message_id, message)
            return Response(request_response_envelope(self.RESULTS[self.mode]), 200)
        return super().respond(address, message)


@dataclass
class World:
    app: FastAPI
    http: TestClient
    kommun: dict[str, str]
    journal: Journal
    adapter: RivtaAdapter
    pki: Pki
    peer_base: str
    edge_base: str
    gateway_base: str
    database_url: str

    # ----- the kommun's side ------------------------------------------------------------

    def submit(self) -> dict[str, Any]:
        response = self.http.post(
            "/fhir/ServiceRequest/$submit",
            json=submission(DAVID.personnummer, JONKOPING),
            headers={**self.kommun, **FHIR_JSON},
        )
        assert response.status_code in (200, 201), response.text
        task: dict[str, Any] = response.json()
        assert task["resourceType"] == "Task", task
        return task

    def task(self, task_id: str) -> dict[str, Any]:
        response = self.http.get(f"/fhir/Task/{task_id}", headers={**self.kommun, **FHIR_JSON})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def wait_for(self, task_id: str, status: str, seconds: float = 15.0) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while True:
            task = self.task(task_id)
            if task["status"] == status or time.monotonic() > deadline:
                return task
            time.sleep(0.1)

    # ----- the outbox -----------------------------------------------------------------

    def deliver(self) -> int:
        return int(self.app.state.worker.drain())

    def due_now(self) -> None:
        with self.app.state.session_factory() as session, session.begin():
            session.execute(
                update(OutboxMessage).values(next_attempt_at=utc_now() - timedelta(seconds=1))
            )

    def messages(self) -> list[OutboxMessage]:
        with self.app.state.session_factory() as session:
            return list(
                session.scalars(
                    select(OutboxMessage).where(OutboxMessage.kind == "journal-request")
                )
            )

    def operator_retry(self, message_id: str) -> subprocess.CompletedProcess[str]:
        """``kv-gateway outbox retry`` in a process of its own, as an operator runs it."""
        cli = Path(sys.executable).with_name("kv-gateway")
        return subprocess.run(
            [str(cli), "outbox", "retry", message_id],
            capture_output=True,
            text=True,
            env={"KVGW_DATABASE_URL": self.database_url, "KVGW_LOG_FORMAT": "console"},
            timeout=120,
            check=False,
        )

    # ----- the directory ----------------------------------------------------------------

    def point_endpoint(self, address: str) -> None:
        with self.app.state.session_factory() as session, session.begin():
            store = ResourceStore(session)
            current = store.current("Endpoint", ENDPOINT)
            assert current is not None
            assert current.body is not None
            body = dict(current.body)
            body["address"] = address
            body["identifier"] = [
                *[i for i in body.get("identifier", []) if i.get("system") != SYSTEM_HSA_ID],
                {"system": SYSTEM_HSA_ID, "value": UNIT_HSA},
            ]
            store.update(body, ENDPOINT)

    def authorise(self, consumer: str, care_unit: str) -> None:
        with self.app.state.session_factory() as session, session.begin():
            routing_table.add_authorisation(
                session, consumer, NS_UPDATE, care_unit, valid_from=SINCE, actor="test"
            )

    def link(self, client: KeyPair | None, **changes: Any) -> GatewayLink:
        """How the journal system reaches the gateway, through the edge."""
        fields: dict[str, Any] = {
            "url": f"{self.edge_base}{ANSWER_PATH}",
            "gateway_hsa_id": GATEWAY_HSA,
            "sender_hsa_id": JOURNAL_HSA,
            "tls": TlsConfig(
                str(client.cert) if client else None,
                str(client.key) if client else None,
                str(self.pki.ca.bundle),
            ),
            "timeout": 20.0,
        }
        fields.update(changes)
        return GatewayLink(**fields)


def adapter_for(pki: Pki, client: KeyPair | None, ca: Path | None = None) -> RivtaAdapter:
    return RivtaAdapter(
        RivtaJournalSettings(
            sender_hsa_id=GATEWAY_HSA,
            client_cert=str(client.cert) if client else None,
            client_key=str(client.key) if client else None,
            ca_bundle=str(ca or pki.ca.bundle),
            timeout_seconds=3.0,
        )
    )


@pytest.fixture
def world(app: FastAPI, anonymous: TestClient, pki: Pki, database_url: str) -> Iterator[World]:
    journal = Journal(care_units=frozenset({UNIT_HSA}))
    adapter = adapter_for(pki, pki.gateway)
    app.state.registry.register(adapter)
    with (
        serve(app) as gateway_base,
        edge(gateway_base, pki.edge_server, pki.ca.bundle, CERT_HEADER) as edge_base,
        serve_tls(journal.app(), pki.peer_server, pki.ca.bundle) as peer_base,
    ):
        with app.state.session_factory() as session, session.begin():
            seed_demo(
                ResourceStore(session),
                app.state.validator,
                DemoPeers("http://127.0.0.1:9"),
                app.state.settings,
            )
        kommun = register_client(app, JONKOPING, PartyKind.KOMMUN)
        world = World(
            app,
            anonymous,
            bearer(anonymous, kommun),
            journal,
            adapter,
            pki,
            peer_base,
            edge_base,
            gateway_base,
            database_url,
        )
        world.point_endpoint(f"{peer_base}/{PROCESS}/1/rivtabp21")
        journal.link = world.link(pki.journal)
        try:
            yield world
        finally:
            journal.close()
            adapter.close()
