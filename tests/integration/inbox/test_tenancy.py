"""She sees only her own unit's requests: another unit's Task is a 404 on every page and
every action, and nothing about it changes."""

from __future__ import annotations

import pytest

from tests.integration.inbox.conftest import OTHER_PASSWORD, OTHER_USER, Inbox

PAGES = ("", "/utskrift", "/utlatande", "/utlatande/utskrift")
ACTIONS = {
    "acceptera": {},
    "avvisa": {"reason": "fel-enhet"},
    "arbetsstatus": {"business_status": "journalgranskning-pagar"},
    "meddelande": {"message": "Hej från fel enhet"},
    "utlatande": {"q:1.1": "false"},
}


def test_the_list_shows_only_the_unit_s_own_requests(inbox: Inbox) -> None:
    own = inbox.request_for_halmstad()
    other = inbox.request_for_jonkoping()
    listing = inbox.signed_in().get("/inbox/arenden")
    links = {a.attrs["href"] for a in listing.dom.find_all("a")}
    assert f"/inbox/arenden/{own}" in links
    assert f"/inbox/arenden/{other}" not in links
    theirs = inbox.signed_in(OTHER_USER, OTHER_PASSWORD).get("/inbox/arenden")
    their_links = {a.attrs["href"] for a in theirs.dom.find_all("a")}
    assert f"/inbox/arenden/{other}" in their_links
    assert f"/inbox/arenden/{own}" not in their_links


@pytest.mark.parametrize("suffix", PAGES)
def test_another_unit_s_request_is_not_found(inbox: Inbox, suffix: str) -> None:
    other = inbox.request_for_jonkoping()
    page = inbox.signed_in().get(f"/inbox/arenden/{other}{suffix}")
    assert page.status == 404
    assert page.dom.find("h1").text == "Ärendet finns inte"
    assert "Anna" not in page.response.text, "nothing of the person leaks"
    missing = inbox.signed_in().get(f"/inbox/arenden/no-such-task{suffix}")
    assert missing.status == 404
    assert missing.dom.find("main").text == page.dom.find("main").text, "unknown looks the same"


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_no_action_reaches_another_unit_s_request(inbox: Inbox, action: str) -> None:
    own = inbox.request_for_halmstad()
    other = inbox.request_for_jonkoping()
    before = inbox.task(other)
    agent = inbox.signed_in()
    token = agent.get(f"/inbox/arenden/{own}").csrf()
    page = agent.post(f"/inbox/arenden/{other}/{action}", {"csrf": token, **ACTIONS[action]})
    assert page.status == 404
    after = inbox.task(other)
    assert after["meta"]["versionId"] == before["meta"]["versionId"]
    messages = inbox.world.as_kommun("GET", "/fhir/Communication", **{"part-of": f"Task/{other}"})
    assert messages.status_code == 200
    assert not messages.json().get("entry"), "no message was written"
