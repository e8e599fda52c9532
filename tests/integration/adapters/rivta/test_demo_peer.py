"""The demo's journal system as ``make run`` starts it: configured from the environment,
reporting straight to the gateway with a throwaway certificate in the header a TLS proxy
would set."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from gateway.demo_peers.rivta_journal import GatewayLink, demo_app, throwaway_certificate
from gateway.rivta.contract import OK
from gateway.security.certificates import hsa_id_from_header
from tests.integration.adapters.rivta.conftest import (
    ANSWER_PATH,
    CERT_HEADER,
    GATEWAY_HSA,
    JOURNAL_HSA,
    UNIT_HSA,
    World,
)


def test_the_throwaway_certificate_names_the_system() -> None:
    assert hsa_id_from_header(quote(throwaway_certificate(JOURNAL_HSA))) == JOURNAL_HSA


def test_demo_app_serves_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KVGW_DEMO_RIVTA_CERT_HEADER", CERT_HEADER)
    with TestClient(demo_app()) as http:
        wsdl = http.get("/ProcessMedicalStatementRequest/1/rivtabp21?wsdl")
        page = http.get("/")
    assert wsdl.status_code == 200
    assert b"ProcessMedicalStatementRequest" in wsdl.content
    assert "Mottagna meddelanden: 0" in page.text


def test_without_a_proxy_the_demo_reports_with_the_forwarded_certificate(world: World) -> None:
    task = world.submit()
    world.deliver()
    world.journal.close()
    world.journal.link = GatewayLink(
        url=f"{world.gateway_base}{ANSWER_PATH}",
        gateway_hsa_id=GATEWAY_HSA,
        sender_hsa_id=JOURNAL_HSA,
        forward_cert_header=CERT_HEADER,
        forward_cert_pem=throwaway_certificate(JOURNAL_HSA),
    )
    report = world.journal.report(task["id"], UNIT_HSA, status="accepted")
    assert report.result is not None, report.error
    assert report.result.code == OK
    assert world.task(task["id"])["status"] == "accepted"
