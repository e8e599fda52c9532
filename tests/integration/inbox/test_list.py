"""The unit's list of open requests: every one of them, the one to answer first first,
a page at a time."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.canonical import EXT_DESIRED_ANSWER_DATE
from tests.integration.inbox.conftest import CECILIA, Inbox, Page
from tests.integration.workflow.conftest import GAVLE
from tests.support.submissions import submission

# Desired answer dates, sent in this order (not the order to answer them in).
DUES = ["2027-03-05", "2027-01-10", "2027-02-20", "2027-01-01", "2027-04-01"]


def _request_due(inbox: Inbox, case_id: str, due: str) -> str:
    bundle = submission(CECILIA.personnummer, GAVLE, case_id=case_id)
    request: dict[str, Any] = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ServiceRequest"
    )
    request["extension"] = [
        e for e in request.get("extension", []) if e.get("url") != EXT_DESIRED_ANSWER_DATE
    ] + [{"url": EXT_DESIRED_ANSWER_DATE, "valueDate": due}]
    response = inbox.world.submit(bundle)
    assert response.status_code == 201, response.text
    inbox.world.deliver()
    return str(response.json()["id"])


def _listed(page: Page) -> list[str]:
    table = page.dom.by_id("open-tasks")
    return [a.attrs["href"].rsplit("/", 1)[-1] for a in table.find_all("a")]


def _links(page: Page) -> dict[str, str]:
    nav = page.dom.by_id("open-pages")
    return {a.attrs["rel"]: a.attrs["href"] for a in nav.find_all("a")}


@pytest.fixture
def five_requests(inbox: Inbox) -> list[str]:
    """Five open requests to the inbox unit, as ids in the order to answer them."""
    ids = {due: _request_due(inbox, f"2026-07{n:02d}", due) for n, due in enumerate(DUES)}
    inbox.request_for_jonkoping()  # another unit's: never listed or counted here
    inbox.world.app.state.inbox_page_size = 2
    return [ids[due] for due in sorted(DUES)]


def test_the_open_list_pages_through_every_request_by_answer_date(
    inbox: Inbox, five_requests: list[str]
) -> None:
    agent = inbox.signed_in()
    first = agent.get("/inbox/arenden")
    assert first.status == 200
    assert _listed(first) == five_requests[:2]
    assert "Visar 1–2 av 5 öppna förfrågningar." in first.dom.by_id("open-count").text
    assert first.dom.by_id("open-pages").attrs["aria-label"] == "Sidor med öppna förfrågningar"
    assert _links(first) == {"next": "/inbox/arenden?sida=2"}

    second = agent.get("/inbox/arenden?sida=2")
    assert _listed(second) == five_requests[2:4]
    assert "Visar 3–4 av 5" in second.dom.by_id("open-count").text
    assert _links(second) == {"prev": "/inbox/arenden?sida=1", "next": "/inbox/arenden?sida=3"}

    last = agent.get("/inbox/arenden?sida=3")
    assert _listed(last) == five_requests[4:]
    assert _links(last) == {"prev": "/inbox/arenden?sida=2"}


@pytest.mark.parametrize(
    ("asked", "shown"), [("99", 3), ("0", 1), ("-1", 1), ("två", 1), ("²", 1), ("9" * 5000, 1)]
)
def test_a_page_number_out_of_range_shows_the_nearest_page(
    inbox: Inbox, five_requests: list[str], asked: str, shown: int
) -> None:
    page = inbox.signed_in().get(f"/inbox/arenden?sida={asked}")
    assert page.status == 200
    assert _listed(page) == five_requests[(shown - 1) * 2 : shown * 2]


def test_requests_that_fit_on_one_page_are_listed_without_page_links(
    inbox: Inbox, five_requests: list[str]
) -> None:
    inbox.world.app.state.inbox_page_size = 10
    page = inbox.signed_in().get("/inbox/arenden")
    assert _listed(page) == five_requests
    assert not page.dom.has(id="open-pages"), "one page: no page links"
    assert "5 öppna förfrågningar." in page.dom.by_id("open-count").text


def test_requests_due_the_same_day_are_listed_in_the_order_they_arrived(inbox: Inbox) -> None:
    arrived = [_request_due(inbox, f"samma-dag-{n}", "2027-05-05") for n in range(3)]
    earlier = _request_due(inbox, "tidigare", "2027-05-04")
    assert _listed(inbox.signed_in().get("/inbox/arenden")) == [earlier, *arrived]


def test_due_is_a_search_parameter_of_the_gateways_own(inbox: Inbox) -> None:
    statement = inbox.world.http.get("/fhir/metadata").json()
    task = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Task")
    declared = {p["name"]: p.get("definition") for p in task["searchParam"]}
    assert declared["due"] == "https://kv-gateway.se/fhir/SearchParameter/kv-task-due"
    assert declared["restriction-period"] == (
        "https://kv-gateway.se/fhir/SearchParameter/kv-task-restriction-period"
    )
    assert declared["authored-on"] == "http://hl7.org/fhir/SearchParameter/Task-authored-on"
