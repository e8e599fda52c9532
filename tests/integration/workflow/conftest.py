"""The workflow tests' world: the demo directory, a journal system and a kommun webhook
on loopback, and real tokens for a kommun (Gävle) and a vårdcentral (Jönköping)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gateway.canonical import CS_GATEWAY_TASK_REASON
from gateway.routing.demo_directory import PERSONS, DemoPeers, seed_demo
from gateway.security.caller import PartyKind
from gateway.store.resources import ResourceStore, utc_now
from tests.support.auth import bearer, register_client
from tests.support.fhir_data import FHIR_JSON
from tests.support.live_server import serve
from tests.support.peers import JournalPeer, WebhookReceiver

GAVLE = "Organization/kommun-2180"
JONKOPING_VC = "Organization/vc-jonkoping-centrum"
ANNA = next(p for p in PERSONS if p.key == "anna")  # lives in Gävle, listed in Jönköping
BENGT = next(p for p in PERSONS if p.key == "bengt")  # listed at Södermalm, Stockholm
FREDRIK = next(p for p in PERSONS if p.key == "fredrik")  # listed nowhere


@dataclass
class World:
    app: FastAPI
    http: TestClient
    kommun: dict[str, str]
    unit: dict[str, str]
    peer: JournalPeer
    webhook: WebhookReceiver
    webhook_url: str

    def submit(self, bundle: dict[str, Any], **headers: str | bytes) -> Any:
        return self.http.post(
            "/fhir/ServiceRequest/$submit",
            json=bundle,
            headers={**self.kommun, **FHIR_JSON, **headers},
        )

    def as_unit(self, method: str, url: str, body: Any = None, **params: Any) -> Any:
        return self.http.request(
            method, url, json=body, params=params, headers={**self.unit, **FHIR_JSON}
        )

    def as_kommun(self, method: str, url: str, body: Any = None, **params: Any) -> Any:
        return self.http.request(
            method, url, json=body, params=params, headers={**self.kommun, **FHIR_JSON}
        )

    def deliver(self) -> int:
        return int(self.app.state.worker.drain())

    def end_consent(self, task: dict[str, Any]) -> str:
        """End the period of the consent the Task's request rests on two days ago, as the
        kommun would correct it; answers the Consent's URL."""
        request = self.as_kommun("GET", f"/fhir/{task['focus']['reference']}").json()
        consent_url = f"/fhir/{request['supportingInfo'][0]['reference']}"
        consent = self.as_kommun("GET", consent_url).json()
        consent["provision"]["period"]["end"] = (utc_now() - timedelta(days=2)).date().isoformat()
        ended = self.as_kommun("PUT", consent_url, consent)
        assert ended.status_code == 200, ended.text
        return consent_url

    def assert_withdrawn(self, task_url: str) -> None:
        """The Task was cancelled because the consent was withdrawn, and the unit told."""
        cancelled = self.as_kommun("GET", task_url).json()
        assert cancelled["status"] == "cancelled"
        assert "samtycke" in cancelled["statusReason"]["text"]
        assert gateway_reason(cancelled) == "samtycke-aterkallat"
        self.deliver()
        assert "återkallat sitt samtycke" in str(self.peer.received[-1].body)


def gateway_reason(task: dict[str, Any]) -> str | None:
    """The code of the gateway's own reason a Task carries (kv-gateway-task-reason)."""
    for coding in (task.get("statusReason") or {}).get("coding") or []:
        if coding.get("system") == CS_GATEWAY_TASK_REASON:
            return str(coding.get("code"))
    return None


def communication(task_id: str, text: str) -> dict[str, Any]:
    """A Communication about the Task, as a party posts it."""
    return {
        "resourceType": "Communication",
        "status": "completed",
        "partOf": [{"reference": f"Task/{task_id}"}],
        "payload": [{"contentString": text}],
    }


@pytest.fixture
def world(app: FastAPI, anonymous: TestClient) -> Iterator[World]:
    peer, webhook = JournalPeer(), WebhookReceiver()
    with serve(peer.app()) as peer_base, serve(webhook.app()) as hook_base:
        with app.state.session_factory() as session, session.begin():
            seed_demo(
                ResourceStore(session),
                app.state.validator,
                DemoPeers(f"{peer_base}/fhir"),
                app.state.settings,
            )
        kommun = register_client(app, GAVLE, PartyKind.KOMMUN)
        unit = register_client(app, JONKOPING_VC, PartyKind.VARDCENTRAL)
        yield World(
            app,
            anonymous,
            bearer(anonymous, kommun),
            bearer(anonymous, unit),
            peer,
            webhook,
            f"{hook_base}/hook",
        )
