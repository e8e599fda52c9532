"""Browser tests: the gateway under a real uvicorn server on loopback, driven by Debian's
headless Chromium through playwright. Screenshots go to test-artifacts/browser/.

SQLite only. Without /usr/bin/chromium every test here is skipped with a loud warning;
CI installs Debian's ``chromium`` (``.ci/run``)."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.routing.demo_directory import PERSONS, DemoPeers, seed_demo
from gateway.security.caller import PartyKind
from gateway.settings import AuthMode, Settings
from gateway.store.resources import ResourceStore
from gateway.web.inbox.accounts import add_account
from tests.support.auth import bearer, register_client
from tests.support.fhir_data import FHIR_JSON
from tests.support.live_server import serve
from tests.support.submissions import submission

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
CHROMIUM_ARGS = [
    "--no-sandbox",  # these machines run as root
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
GAVLE = "Organization/kommun-2180"
HALMSTAD_VC = "Organization/vc-halmstad-norr"
CECILIA = next(p for p in PERSONS if p.key == "cecilia")
USER, PASSWORD = "rehab.halmstad", "Rätt häst batteri häftklammer"
DISPLAY_NAME = "Rehabkoordinator Halmstad"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        message = (
            f"\n{'!' * 78}\n!! {CHROMIUM} is missing: every browser test is SKIPPED.\n"
            "!! Install Debian's 'chromium' package (CI does, in .ci/run).\n"
            f"{'!' * 78}\n"
        )
        warnings.warn(message, stacklevel=1)
        print(message)
        pytest.skip(f"{CHROMIUM} is not installed")
    return CHROMIUM


@dataclass
class LiveInbox:
    base_url: str
    api: TestClient
    kommun: dict[str, str]
    app: object

    def submit_request(self, case_id: str) -> str:
        """A kommun's request for Cecilia, delivered into the Halmstad inbox."""
        response = self.api.post(
            "/fhir/ServiceRequest/$submit",
            json=submission(CECILIA.personnummer, GAVLE, case_id=case_id),
            headers={**self.kommun, **FHIR_JSON},
        )
        assert response.status_code == 201, response.text
        task = response.json()
        assert task["owner"] == {"reference": HALMSTAD_VC}
        self.app.state.worker.drain()  # type: ignore[attr-defined]
        return str(task["id"])

    def task(self, task_id: str) -> dict[str, object]:
        response = self.api.get(f"/fhir/Task/{task_id}", headers={**self.kommun, **FHIR_JSON})
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body


@pytest.fixture
def live_inbox(tmp_path: Path, sqlite_template: Path) -> Iterator[LiveInbox]:
    database = tmp_path / "gateway.db"
    shutil.copyfile(sqlite_template, database)
    settings = Settings(
        database_url=f"sqlite:///{database}",
        auth_mode=AuthMode.SMART,
        public_base_url="http://testserver",  # the kommun's tokens are made for this audience
        rate_limit_per_minute=0,
        delivery_worker_in_process=False,
        _env_file=None,
    )
    app = create_app(settings)
    with app.state.session_factory() as session, session.begin():
        seed_demo(
            ResourceStore(session),
            app.state.validator,
            DemoPeers("http://127.0.0.1:9/fhir"),
            settings,
        )
        add_account(session, USER, PASSWORD, HALMSTAD_VC, DISPLAY_NAME)
    with TestClient(app) as api, serve(app) as base_url:
        kommun = bearer(api, register_client(app, GAVLE, PartyKind.KOMMUN))
        yield LiveInbox(base_url, api, kommun, app)
    app.state.engine.dispose()


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    folder = ARTIFACTS / str(request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder
