"""``make run`` as a new user runs it: every connection type of the demo directory works.

The Makefile's own ``run`` target runs in a scratch folder (its ``var/`` is made there) with
this test run's virtual environment, on free ports. The demo kommun client's key, written by
``make run``, gets a token through the CLI as the README says, and one request goes to a
vårdcentral on each connection type: the fhir-rest and RIVTA demo journal systems accept and
answer by themselves, and the inbox unit's request waits in its inbox.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.routing.demo_directory import PERSONS
from tests.support.fhir_data import FHIR_JSON
from tests.support.live_server import free_port
from tests.support.submissions import submission

REPO = Path(__file__).resolve().parents[2]
VENV = Path(sys.prefix)
KOMMUN = "Organization/kommun-0180"
SCOPES = (
    "system/ServiceRequest.crus system/Consent.crus system/Patient.crus system/Task.rus "
    "system/PractitionerRole.crus system/Practitioner.crus system/QuestionnaireResponse.rs"
)

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _free_pair() -> int:
    """A port whose successor is free too (the RIVTA demo peer takes PEER_PORT + 1)."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two free consecutive ports")


@dataclass
class Demo:
    folder: Path
    base: str
    output: Path

    def cli(self, *args: str) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KVGW_")}
        env.update(KVGW_DATABASE_URL="sqlite:///var/kv-gateway.db", KVGW_PUBLIC_BASE_URL=self.base)
        done = subprocess.run(
            [str(VENV / "bin" / "kv-gateway"), *args],
            cwd=self.folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def printed(self) -> str:
        return self.output.read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    folder = tmp_path_factory.mktemp("make-run")
    port, peer_port = free_port(), _free_pair()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KVGW_")}
    output = folder / "make-run.log"
    with output.open("w") as sink:
        make = subprocess.Popen(
            [
                "make",
                "-f",
                str(REPO / "Makefile"),
                # The environment the tests run in is the one to use: never reinstall it
                # from this folder (a pyproject.toml newer than the stamp once did, and
                # left the editable install pointing nowhere).
                "-o",
                str(VENV / ".installed"),
                f"VENV={VENV}",
                f"PORT={port}",
                f"PEER_PORT={peer_port}",
                "run",
            ],
            cwd=folder,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # make and the gateway stop together
        )
    demo = Demo(folder, f"http://127.0.0.1:{port}", output)
    try:
        deadline = time.monotonic() + 120
        while "Demo journal system (rivta)" not in demo.printed() or not _ready(demo.base):
            assert make.poll() is None, f"make run stopped:\n{demo.printed()[-3000:]}"
            assert time.monotonic() < deadline, f"make run did not start:\n{demo.printed()}"
            time.sleep(0.3)
        yield demo
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        make.wait(timeout=30)


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_make_run_prints_the_urls_and_how_to_sign_in(demo: Demo) -> None:
    printed = demo.printed()
    for url in (f"{demo.base}/fhir", f"{demo.base}/docs", f"{demo.base}/inbox/logga-in"):
        assert url in printed
    assert "Demo journal system (fhir-rest)" in printed
    assert f'curl -H "Authorization: Bearer $TOKEN" {demo.base}/fhir/Organization' in printed
    assert re.search(r"password\s+\S{12,}", printed), "the demo inbox password is printed"


def test_a_request_reaches_a_unit_on_each_connection_type_and_two_answer(demo: Demo) -> None:
    token = demo.cli(
        "clients",
        "token",
        "demo-kommun-0180",
        "--key",
        "var/demo-keys/demo-kommun-0180.jwk.json",
        "--scope",
        SCOPES,
    )
    headers = {"authorization": f"Bearer {token}", **FHIR_JSON}
    expected = {  # person → (unit, the status the demo brings the Task to)
        "bengt": ("Organization/vc-sodermalm", "completed"),  # fhir-rest
        "david": ("Organization/vc-gavle-sodra", "completed"),  # rivta
        "cecilia": ("Organization/vc-halmstad-norr", "received"),  # inbox
    }
    tasks: dict[str, str] = {}
    with httpx.Client(base_url=demo.base, headers=headers, timeout=30) as http:
        for key, (unit, _) in expected.items():
            person = next(p for p in PERSONS if p.key == key)
            bundle = submission(person.personnummer, KOMMUN, case_id=f"MAKE-RUN-{key}")
            created = http.post("/fhir/ServiceRequest/$submit", json=bundle)
            assert created.status_code == 201, created.text
            assert created.json()["owner"]["reference"] == unit
            tasks[key] = created.json()["id"]
        reached: dict[str, Any] = {}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            reached = {k: http.get(f"/fhir/Task/{t}").json()["status"] for k, t in tasks.items()}
            if reached == {k: status for k, (_, status) in expected.items()}:
                break
            time.sleep(0.5)
        assert reached == {k: status for k, (_, status) in expected.items()}, demo.printed()[-4000:]
        for key in ("bengt", "david"):
            task = http.get(f"/fhir/Task/{tasks[key]}").json()
            answer = task["output"][0]["valueReference"]["reference"]
            assert http.get(f"/fhir/{answer}").json()["status"] == "completed"
    printed = demo.printed()
    assert "rivta_inbound_result" in printed
    assert "consumer=SE2321000198-JS01" in printed
    for person in PERSONS:  # no personnummer in what make run printed
        assert person.personnummer not in printed
