"""The file-drop case adapter against a real gateway on loopback (SQLite, demo directory).

The adapter is a registered kommun client (Gävle) with its own private key; it reads the
example vendor files in mappings/examples/ by the example mappings, submits over HTTP,
and writes receipts, status changes and answers back as files.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree
from typer.testing import CliRunner

from adapters.case.file_drop.cli import app as cli_app
from adapters.case.file_drop.cli import make_runner
from adapters.case.file_drop.config import DEFAULT_SCOPE, AdapterConfig, load_config
from adapters.case.file_drop.runner import RoundReport
from gateway.app import create_app
from gateway.routing.demo_directory import DemoPeers, seed_demo
from gateway.security.caller import PartyKind
from gateway.settings import AuthMode, Settings
from gateway.store.db import make_engine
from gateway.store.resources import ResourceStore
from tests.support import auth
from tests.support.answers import answer_to
from tests.support.auth import assertion, new_identity, register_client, token_response
from tests.support.live_server import free_port, serve

REPO = Path(__file__).parents[2]
MAPPINGS = REPO / "mappings"
GAVLE = "Organization/kommun-2180"
JONKOPING_VC = "Organization/vc-jonkoping-centrum"


@dataclass
class Gateway:
    base: str
    unit_headers: dict[str, str]
    config_file: Path
    drop: Path

    def adapter_config(self) -> AdapterConfig:
        return load_config(self.config_file)

    def round(self) -> RoundReport:
        config = self.adapter_config()
        with httpx.Client(timeout=10, trust_env=False) as http:
            return make_runner(config, http).run_once()

    def as_unit(self, method: str, path: str, body: Any = None, **params: Any) -> httpx.Response:
        with httpx.Client(base_url=self.base, trust_env=False, timeout=10) as http:
            return http.request(
                method,
                path,
                json=body,
                params=params,
                headers={**self.unit_headers, "content-type": "application/fhir+json"},
            )

    def files(self, folder: str, pattern: str = "*") -> list[Path]:
        return sorted(p for p in (self.drop / folder).glob(pattern) if not p.name.startswith("."))


def _token(base: str, identity: auth.TestClientIdentity) -> dict[str, str]:
    with httpx.Client(base_url=base, trust_env=False, timeout=10) as http:
        response = token_response(
            http,  # type: ignore[arg-type]  # the same interface as TestClient
            assertion(identity, aud=f"{base}/auth/token"),
        )
    assert response.status_code == 200, response.text
    return {"authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def gateway(tmp_path: Path, sqlite_template: Path) -> Iterator[Gateway]:
    database = tmp_path / "gateway.db"
    shutil.copyfile(sqlite_template, database)
    database_url = f"sqlite:///{database}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(
        database_url=database_url,
        auth_mode=AuthMode.SMART,
        public_base_url=base,
        rate_limit_per_minute=0,
        delivery_worker_in_process=False,
    )
    engine = make_engine(database_url)
    app = create_app(settings, engine=engine)
    with app.state.session_factory() as session, session.begin():
        seed_demo(
            ResourceStore(session),
            app.state.validator,
            DemoPeers("http://127.0.0.1:9/fhir"),  # nothing is delivered in these tests
            settings,
        )
    kommun = new_identity("gavle-case-drop")
    register_client(
        app, GAVLE, PartyKind.KOMMUN, scopes=tuple(DEFAULT_SCOPE.split()), identity=kommun
    )
    unit = register_client(app, JONKOPING_VC, PartyKind.VARDCENTRAL)
    key_file = tmp_path / "case-drop.jwk.json"
    key_file.write_text(json.dumps({**kommun.key.as_dict(private=True), "kid": kommun.kid}))
    config_file = tmp_path / "case-drop.toml"
    config_file.write_text(
        f"""
[gateway]
base_url = "{base}"
client_id = "{kommun.client_id}"
key_file = "case-drop.jwk.json"
timeout_seconds = 10

[folders]
root = "drop"

[mapping]
file = "{MAPPINGS / "example-json.toml"}"
""",
        encoding="utf-8",
    )
    try:
        with serve(app, port):
            yield Gateway(base, _token(base, unit), config_file, tmp_path / "drop")
    finally:
        engine.dispose()


def _json_sample() -> dict[str, Any]:
    """The example JSON file, its consent given yesterday and valid for a year."""
    sample: dict[str, Any] = json.loads((MAPPINGS / "examples/example-json.json").read_text())
    today = date.today()
    sample["samtycke"]["datum"] = (today - timedelta(days=1)).strftime("%d.%m.%Y")
    sample["samtycke"]["giltigtTom"] = (today + timedelta(days=365)).strftime("%d.%m.%Y")
    sample["insats"]["start"] = (today + timedelta(days=7)).isoformat()
    sample["arende"]["onskatSvarSenast"] = (today + timedelta(days=30)).isoformat()
    return sample


def _drop(gateway: Gateway, name: str, data: bytes) -> None:
    (gateway.drop / "inbox").mkdir(parents=True, exist_ok=True)
    (gateway.drop / "inbox" / name).write_bytes(data)


def test_a_dropped_file_becomes_a_request_and_its_answer_comes_back_as_a_file(
    gateway: Gateway,
) -> None:
    sample = json.dumps(_json_sample(), ensure_ascii=False).encode("utf-8")
    _drop(gateway, "export 198503142385.json", sample)

    first = gateway.round()

    assert (first.submitted, first.refused, first.left_for_retry) == (1, 0, 0)
    assert gateway.files("inbox") == []
    assert gateway.files("processing") == []
    [done] = gateway.files("done")
    assert "198503142385" not in done.name, "no personnummer in a file name"
    [receipt_file] = gateway.files("outbox", "receipt-*.json")
    receipt = json.loads(receipt_file.read_text())["kvSvar"]
    assert receipt["typ"] == "receipt"
    assert receipt["arendeId"] == "EB-2026-0042"
    assert receipt["status"] == "SKICKAD"
    assert stat.S_IMODE(receipt_file.stat().st_mode) == 0o600
    task_id = receipt["uppdragId"]
    assert receipt_file.name == f"receipt-{task_id}.json"

    # The Task is the listed vårdcentral's; it answers through the FHIR API.
    task = gateway.as_unit("GET", f"/fhir/Task/{task_id}")
    assert task.status_code == 200, task.text
    assert task.json()["owner"]["reference"] == JONKOPING_VC
    accepted = gateway.as_unit(
        "PUT", f"/fhir/Task/{task_id}", {**task.json(), "status": "accepted"}
    )
    assert accepted.status_code == 200, accepted.text
    seen = gateway.round()
    assert (seen.status_files, seen.answer_files) == (1, 0)
    [status_file] = gateway.files("outbox", "status-*.json")
    status = json.loads(status_file.read_text())["kvSvar"]
    assert (status["typ"], status["status"], status["arendeId"]) == (
        "status",
        "ACCEPTERAD",
        "EB-2026-0042",
    )
    request_ref = task.json()["focus"]["reference"]
    request = gateway.as_unit("GET", f"/fhir/{request_ref}").json()
    assert request["identifier"][0]["value"] == "EB-2026-0042"
    answered = gateway.as_unit("POST", "/fhir/QuestionnaireResponse", answer_to(request_ref))
    assert answered.status_code == 201, answered.text

    # The next round (through the console command) writes the status change and the answer.
    result = CliRunner().invoke(cli_app, ["--config", str(gateway.config_file), "--once"])
    assert result.exit_code == 0, result.output
    assert "answer_files=1" in result.output
    [answer_file] = gateway.files("outbox", "answer-*.json")
    assert answer_file.name == f"answer-{task_id}.json"
    answer = json.loads(answer_file.read_text())["kvSvar"]
    assert answer["typ"] == "answer"
    assert answer["arendeId"] == "EB-2026-0042"
    assert answer["status"] == "KLAR"
    assert answer["funktionsnedsattning"] == "true"
    assert answer["aktivitetsbegransningBeskrivning"].startswith("Klarar inte tunga lyft")
    assert any(item["linkId"] == "kv.prognos.bedomning" for item in answer["ovrigaSvar"])
    assert stat.S_IMODE(answer_file.stat().st_mode) == 0o600
    assert len(gateway.files("outbox", "status-*")) == 1, "the answer is no status file too"

    # Nothing new: a further round writes nothing.
    quiet = gateway.round()
    assert (quiet.status_files, quiet.answer_files, quiet.submitted) == (0, 0, 0)

    # The same file dropped again makes no second request.
    _drop(gateway, "again.json", sample)
    again = gateway.round()
    assert (again.submitted, again.already_submitted, again.refused) == (0, 1, 0)
    assert len(gateway.files("done")) == 2
    tasks = gateway.as_unit("GET", "/fhir/Task").json()
    assert [e["resource"]["id"] for e in tasks.get("entry", [])] == [task_id]


def test_a_person_listed_nowhere_or_without_consent_ends_in_refused_with_the_reason(
    gateway: Gateway,
) -> None:
    config = gateway.config_file.read_text().replace("example-json.toml", "example-csv.toml")
    gateway.config_file.write_text(config)
    today = date.today()
    sample = (MAPPINGS / "examples/example-csv.csv").read_text(encoding="utf-8")
    sample = sample.replace("20261130", (today - timedelta(days=1)).strftime("%Y%m%d"))
    sample = sample.replace("20271130", (today + timedelta(days=365)).strftime("%Y%m%d"))
    _drop(gateway, "fredrik.csv", sample.encode("utf-8"))

    report = gateway.round()

    assert (report.submitted, report.refused) == (0, 1)
    [refused] = gateway.files("refused", "*.csv")
    explanation = (gateway.drop / "refused" / f"{refused.name}.outcome.txt").read_text()
    assert "Gatewayen avvisade förfrågan för ärende EB-2026-0043 (HTTP 422)" in explanation
    assert "Personen har ingen gällande listning i primärvården" in explanation
    assert "Plats: Bundle.entry[0].resource.identifier" in explanation
    assert "200012246112" not in explanation
    assert gateway.files("outbox") == []

    # A consent that has ended (the JSON vendor's format this time).
    gateway.config_file.write_text(config.replace("example-csv.toml", "example-json.toml"))
    sample_json = _json_sample()
    sample_json["samtycke"]["datum"] = (today - timedelta(days=60)).strftime("%d.%m.%Y")
    sample_json["samtycke"]["giltigtTom"] = (today - timedelta(days=2)).strftime("%d.%m.%Y")
    _drop(gateway, "ended.json", json.dumps(sample_json).encode("utf-8"))

    ended = gateway.round()

    assert (ended.submitted, ended.refused) == (0, 1)
    [refused_json] = gateway.files("refused", "*.json")
    explanation = (gateway.drop / "refused" / f"{refused_json.name}.outcome.txt").read_text()
    assert "(HTTP 422)" in explanation
    assert "Samtycket gäller inte längre" in explanation
    assert "Plats: Bundle.entry[" in explanation
    assert not gateway.as_unit("GET", "/fhir/Task").json().get("entry")


def _xml_sample() -> bytes:
    """The example XML file (David, listed at the demo's RIVTA unit), its consent current."""
    today = date.today()
    sample = (MAPPINGS / "examples/example-xml.xml").read_text(encoding="utf-8")
    sample = sample.replace(
        "2026-11-30T10:00:00+01:00", f"{today - timedelta(days=1)}T10:00:00+01:00"
    )
    sample = sample.replace("<GallerFrom>2026-11-30", f"<GallerFrom>{today - timedelta(days=1)}")
    sample = sample.replace("2027-11-30", str(today + timedelta(days=365)))
    return sample.encode("utf-8")


def test_an_unreachable_gateway_leaves_the_file_for_the_next_round(gateway: Gateway) -> None:
    config = gateway.config_file.read_text().replace("example-json.toml", "example-xml.toml")
    gateway.config_file.write_text(
        config.replace(gateway.base, f"http://127.0.0.1:{free_port()}", 1)
    )
    _drop(gateway, "case.xml", _xml_sample())

    report = gateway.round()

    assert (report.submitted, report.refused, report.left_for_retry) == (0, 0, 1)
    assert report.poll_failed
    assert len(gateway.files("processing")) == 1

    gateway.config_file.write_text(config)
    retried = gateway.round()
    assert (retried.submitted, retried.left_for_retry, retried.poll_failed) == (1, 0, False)
    assert gateway.files("processing") == []
    assert len(gateway.files("done")) == 1
    [receipt] = gateway.files("outbox", "receipt-*.xml")
    root = etree.fromstring(receipt.read_bytes())
    assert root.tag == "Svar"
    assert root.findtext("ArendeId") == "EB-2026-0044"
    assert root.findtext("Status") == "SKICKAD"


def test_a_hostile_file_is_refused_and_the_files_after_it_still_go(gateway: Gateway) -> None:
    """Nesting deeper than the stack, a 5 000-digit number, a link to a file elsewhere: each
    is refused with a reason, and the round goes on to the good file after them."""
    _drop(gateway, "a-deep.json", b"[" * 100_000)
    _drop(gateway, "b-number.json", b'{"arende": {"id": ' + b"9" * 5000 + b"}}")
    elsewhere = gateway.drop.parent / "elsewhere.json"
    elsewhere.write_bytes(json.dumps(_json_sample()).encode())
    (gateway.drop / "inbox" / "c-link.json").symlink_to(elsewhere)
    _drop(gateway, "d-good.json", json.dumps(_json_sample()).encode())

    report = gateway.round()

    assert (report.submitted, report.refused, report.left_for_retry) == (1, 3, 0)
    outcomes = [p.read_text() for p in gateway.files("refused", "*.outcome.txt")]
    assert len(outcomes) == 3
    assert sum("ingen vanlig fil" in text for text in outcomes) == 1
    assert all("9999" not in text for text in outcomes)


def test_a_wrong_gateway_path_leaves_the_file_and_the_command_guards_its_folder(
    gateway: Gateway,
) -> None:
    config = gateway.config_file.read_text()
    wrong = config.replace(
        f'base_url = "{gateway.base}"',
        f'base_url = "{gateway.base}/wrong"\ntoken_url = "{gateway.base}/auth/token"',
    )
    gateway.config_file.write_text(wrong)
    _drop(gateway, "case.json", json.dumps(_json_sample()).encode())
    report = gateway.round()
    assert (report.submitted, report.refused, report.left_for_retry) == (0, 0, 1)
    gateway.config_file.write_text(config)

    # A second adapter on the same folder, and a state file it cannot read, stop the
    # command at start in one line.
    with httpx.Client(trust_env=False) as http:
        holder = make_runner(gateway.adapter_config(), http)
        holder.hold_root()
        busy = CliRunner().invoke(cli_app, ["--config", str(gateway.config_file), "--once"])
        assert busy.exit_code == 2
        assert "another adapter works in" in busy.output
        os.close(holder._lock or -1)
    (gateway.drop / "state.json").write_text("{not json")
    broken = CliRunner().invoke(cli_app, ["--config", str(gateway.config_file), "--once"])
    assert broken.exit_code == 2
    assert "state.json cannot be read" in broken.output
    assert len(gateway.files("processing")) == 1, "nothing was done meanwhile"
