"""The inbox tests' world: the workflow world (demo directory, peers, kommun and unit
tokens) plus local inbox accounts, and a browser-less user agent that keeps cookies and
reads pages the way a person would: by label, id and aria-describedby."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi.testclient import TestClient

from gateway.canonical import SECURITY_LABEL_SYSTEM
from gateway.routing.demo_directory import PERSONS
from gateway.web.inbox.accounts import add_account
from tests.conftest import RAISE_SERVER_EXCEPTIONS
from tests.integration.workflow.conftest import ANNA, GAVLE, JONKOPING_VC, World, world
from tests.support.html import Element, parse
from tests.support.submissions import submission

__all__ = ["world"]  # the workflow world fixture, used here too

HALMSTAD_VC = "Organization/vc-halmstad-norr"  # the demo's inbox unit
CECILIA = next(p for p in PERSONS if p.key == "cecilia")  # listed at Halmstad Norr
USER, PASSWORD = "rehab.halmstad", "Rätt häst batteri häftklammer"
OTHER_USER, OTHER_PASSWORD = "rehab.jonkoping", "Ett helt annat lösenord 42"


EXAMPLE_REQUEST = (
    Path(__file__).parents[3] / "profiles/compiled/ServiceRequest-example-servicerequest.json"
)


def with_the_example_question(bundle: dict[str, Any]) -> None:
    """The published example's question: reason, purpose, planned activities, MIX group,
    background, other contacts and a wish for an avstämningsmöte (not its answer date,
    which has passed)."""
    example = json.loads(EXAMPLE_REQUEST.read_text(encoding="utf-8"))
    request = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ServiceRequest"
    )
    request["reasonCode"] = example["reasonCode"]
    request["extension"] = [
        e for e in example["extension"] if not e["url"].endswith("kv-desired-answer-date")
    ]


@dataclass
class Page:
    response: httpx.Response
    dom: Element

    @property
    def status(self) -> int:
        return self.response.status_code

    def csrf(self) -> str:
        return self.dom.find("input", name="csrf").attrs["value"]


@dataclass
class Agent:
    """One person's browser: its own cookies, no JavaScript, no redirects followed."""

    http: TestClient
    last: Page | None = field(default=None)

    def get(self, path: str) -> Page:
        response = self.http.get(path)
        self.last = Page(response, parse(response.text))
        return self.last

    def post(self, path: str, data: dict[str, Any] | list[tuple[str, str]]) -> Page:
        fields = list(data.items()) if isinstance(data, dict) else data
        response = self.http.post(
            path,
            content=urlencode(fields),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        self.last = Page(response, parse(response.text))
        return self.last

    def submit(
        self, page_path: str, action: str, data: dict[str, Any] | list[tuple[str, str]]
    ) -> Page:
        """Open ``page_path`` and post ``data`` with the page's CSRF token to ``action``."""
        token = self.get(page_path).csrf()
        fields = list(data.items()) if isinstance(data, dict) else list(data)
        return self.post(action, [("csrf", token), *fields])

    def sign_in(self, username: str = USER, password: str = PASSWORD) -> Page:
        return self.submit(
            "/inbox/logga-in", "/inbox/logga-in", {"username": username, "password": password}
        )


@dataclass
class Inbox:
    world: World

    def agent(self, base_url: str = "http://testserver") -> Agent:
        return Agent(
            TestClient(
                self.world.app,
                base_url=base_url,
                follow_redirects=False,
                raise_server_exceptions=RAISE_SERVER_EXCEPTIONS,
            )
        )

    def signed_in(self, username: str = USER, password: str = PASSWORD) -> Agent:
        agent = self.agent()
        page = agent.sign_in(username, password)
        assert page.status == 303, page.response.text
        return agent

    def request_for_halmstad(self, case_id: str = "2026-0100", *, protected: bool = False) -> str:
        """A kommun's request for Cecilia, routed to and delivered into the inbox unit
        (``protected``: the kommun marks her identity as protected)."""
        bundle = submission(CECILIA.personnummer, GAVLE, case_id=case_id)
        with_the_example_question(bundle)
        if protected:
            bundle["entry"][0]["resource"]["meta"] = {
                "security": [{"system": SECURITY_LABEL_SYSTEM, "code": "skyddadFolkbokforing"}]
            }
        response = self.world.submit(bundle)
        assert response.status_code == 201, response.text
        task = response.json()
        assert task["owner"] == {"reference": HALMSTAD_VC}
        self.world.deliver()
        return str(task["id"])

    def request_for_jonkoping(self, case_id: str = "2026-0200") -> str:
        """A request owned by another unit (Anna is listed in Jönköping)."""
        response = self.world.submit(submission(ANNA.personnummer, GAVLE, case_id=case_id))
        assert response.status_code == 201, response.text
        assert response.json()["owner"] == {"reference": JONKOPING_VC}
        return str(response.json()["id"])

    def task(self, task_id: str) -> dict[str, Any]:
        """The Task as the kommun reads it over the FHIR API."""
        response = self.world.as_kommun("GET", f"/fhir/Task/{task_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def inbox(world: World) -> Inbox:
    with world.app.state.session_factory() as session, session.begin():
        add_account(session, USER, PASSWORD, HALMSTAD_VC, "Rehabkoordinator Halmstad")
        add_account(session, OTHER_USER, OTHER_PASSWORD, JONKOPING_VC, "Rehab Jönköping")
    return Inbox(world)
