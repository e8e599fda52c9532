"""What ``make run`` starts (the demo journal system answering by itself), and polling from the
command line."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from adapters.journal.fhir_rest import FhirRestAdapter
from gateway.demo_peers import DEMO_PROFILE, KEY_FILE, start_fhir_journal
from gateway.demo_peers.auto_answer import AutoAnswer
from gateway.routing.demo_directory import DemoPeers, seed_demo
from gateway.security.caller import PartyKind
from gateway.store.resources import ResourceStore
from tests.integration.adapters.fhir_rest.conftest import ANNA, GAVLE, PROFILE, FhirWorld
from tests.integration.test_cli import run_cli
from tests.support.auth import bearer, register_client
from tests.support.fhir_data import FHIR_JSON
from tests.support.live_server import free_port
from tests.support.submissions import submission


def test_the_demo_journal_system_takes_the_request_and_answers_by_itself(
    app: FastAPI, anonymous: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KVGW_FHIR_REST_PROFILES", "{}")  # restored after the test
    peer = start_fhir_journal(free_port(), tmp_path / "keys", auto=AutoAnswer(0.1, 0.4))
    try:
        assert (tmp_path / "keys" / KEY_FILE).stat().st_mode & 0o777 == 0o600
        app.state.registry.register(FhirRestAdapter())  # reads the demo profile just set
        with app.state.session_factory() as session, session.begin():
            seed_demo(
                ResourceStore(session),
                app.state.validator,
                DemoPeers(peer.url, DEMO_PROFILE),
                app.state.settings,
            )
        kommun = {**bearer(anonymous, register_client(app, GAVLE, PartyKind.KOMMUN)), **FHIR_JSON}
        created = anonymous.post(
            "/fhir/ServiceRequest/$submit",
            json=submission(ANNA.personnummer, GAVLE),
            headers=kommun,
        )
        assert created.status_code == 201, created.text
        task_id = created.json()["id"]
        assert app.state.worker.drain() == 1
        status = None
        for _ in range(50):
            app.state.poller.run_once()
            task = anonymous.get(f"/fhir/Task/{task_id}", headers=kommun).json()
            status = task["status"]
            if status == "completed":
                break
            time.sleep(0.1)
        assert status == "completed"
        assert task["businessStatus"]["coding"][0]["code"] == "utlatande-skickat"
        assert task["output"][0]["valueReference"]["reference"].startswith("QuestionnaireResponse/")
        import httpx

        assert "1 leveranser har kommit in" in httpx.get(peer.home).text
    finally:
        peer.stop()


def test_journal_poll_and_marks_on_the_command_line(
    fhir_world: FhirWorld, database_url: str
) -> None:
    world = fhir_world
    world.use(smart=world.smart(), receive="poll")
    task = world.submit()
    world.deliver()
    world.journal.move(world.remote(task["id"])["id"], "accepted")
    profile = {
        PROFILE: {
            "receive": "poll",
            "smart": {
                "token_url": f"{world.peer_base}/auth/token",
                "client_id": "kv-gateway",
                "key_file": str(world.key_file),
            },
        }
    }
    env = {"KVGW_DATABASE_URL": database_url, "KVGW_FHIR_REST_PROFILES": json.dumps(profile)}
    polled = run_cli("journal", "poll", env=env)
    assert polled.returncode == 0, polled.stderr
    assert "1 updates: 1 applied" in polled.stdout
    assert world.task(task["id"])["status"] == "accepted"
    again = run_cli("journal", "poll", env=env)
    assert "0 updates" in again.stdout
    marks = run_cli("journal", "marks", env={"KVGW_DATABASE_URL": database_url})
    assert marks.returncode == 0, marks.stderr
    assert "Endpoint/ep-vc-jonkoping-centrum" in marks.stdout
    assert "Endpoint/ep-vc-sodermalm" in marks.stdout, "one peer, every Endpoint at it"
