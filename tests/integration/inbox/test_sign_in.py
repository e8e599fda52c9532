"""Signing in and out: hashed local accounts, the same answer whoever fails, audit, rate
limits, CSRF on every POST, cookie flags, expiry and the page security headers."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from gateway.security.models import AuditChainLink
from gateway.security.rate_limit import RateLimiter
from gateway.store.resources import ResourceStore
from gateway.web.inbox import session as cookies
from gateway.web.inbox.accounts import MAX_FAILED_ATTEMPTS, verify_password
from gateway.web.inbox.models import InboxAccount
from tests.integration.inbox.conftest import PASSWORD, USER, Agent, Inbox
from tests.support.html import label_of


def _login_events(inbox: Inbox) -> list[dict[str, Any]]:
    app = inbox.world.app
    with app.state.session_factory() as session:
        store = ResourceStore(session)
        ids = session.scalars(select(AuditChainLink.event_id).order_by(AuditChainLink.seq)).all()
        events = [store.read("AuditEvent", i).body or {} for i in ids]
    return [e for e in events if e["subtype"][0]["code"] == "110122"]


def _failure_text(agent: Agent) -> str:
    assert agent.last is not None
    summary = agent.last.dom.by_id("error-summary")
    return summary.text


def test_the_sign_in_page_is_labelled_and_carries_a_token(inbox: Inbox) -> None:
    page = inbox.agent().get("/inbox/logga-in")
    assert page.status == 200
    assert page.dom.find("html").attrs["lang"] == "sv"
    assert label_of(page.dom, page.dom.by_id("username")) == "Användarnamn"
    assert label_of(page.dom, page.dom.by_id("password")) == "Lösenord"
    assert len(page.csrf()) >= 32
    assert page.dom.by_id("password").attrs["autocomplete"] == "current-password"


def test_a_good_sign_in_opens_the_unit_s_list_with_a_strict_cookie(inbox: Inbox) -> None:
    agent = inbox.agent()
    page = agent.sign_in()
    assert page.status == 303
    assert page.response.headers["location"] == "/inbox/arenden"
    set_cookie = next(
        v for v in page.response.headers.get_list("set-cookie") if v.startswith("kvgw_inbox=")
    )
    flags = {part.strip().lower() for part in set_cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/inbox"} <= flags
    assert "secure" not in flags, "the test base URL is plain http"
    listing = agent.get("/inbox/arenden")
    assert listing.status == 200
    assert "Vårdcentralen Halmstad Norr" in listing.dom.find("h1").text
    events = _login_events(inbox)
    assert events[-1]["outcome"] == "0"
    assert events[-1]["agent"][0]["altId"] == f"inbox:{USER}"


def test_the_cookie_is_secure_when_the_gateway_is_served_over_https(inbox: Inbox) -> None:
    app = inbox.world.app
    app.state.settings = app.state.settings.model_copy(
        update={"public_base_url": "https://gateway.example.se"}
    )
    agent = inbox.agent("https://testserver")
    form = agent.get("/inbox/logga-in")
    login_cookie = form.response.headers["set-cookie"]
    assert "secure" in {part.strip().lower() for part in login_cookie.split(";")}
    page = agent.post(
        "/inbox/logga-in", {"csrf": form.csrf(), "username": USER, "password": PASSWORD}
    )
    set_cookie = next(
        v for v in page.response.headers.get_list("set-cookie") if v.startswith("kvgw_inbox=")
    )
    assert "secure" in {part.strip().lower() for part in set_cookie.split(";")}


def test_wrong_password_and_unknown_user_get_the_same_answer_and_are_audited(
    inbox: Inbox,
) -> None:
    wrong = inbox.agent()
    assert wrong.sign_in(USER, "not the password at all").status == 401
    unknown = inbox.agent()
    assert unknown.sign_in("nobody.here", PASSWORD).status == 401
    assert _failure_text(wrong) == _failure_text(unknown)
    assert wrong.last is not None
    assert "kvgw_inbox=" not in wrong.last.response.headers.get("set-cookie", "")
    assert wrong.get("/inbox/arenden").status == 303, "no session after a failure"
    failures = [e for e in _login_events(inbox) if e["outcome"] != "0"]
    assert [e["agent"][0]["altId"] for e in failures] == [
        f"inbox:{USER}",
        "inbox:(unknown user)",  # a mistyped name may be a password: not recorded
    ]
    assert {e["outcomeDesc"] for e in failures} == {
        "inbox sign-in: bad-password",
        "inbox sign-in: unknown-user",
    }


def test_repeated_failures_lock_the_account_without_saying_so(inbox: Inbox) -> None:
    agent = inbox.agent()
    for _ in range(MAX_FAILED_ATTEMPTS):
        assert agent.sign_in(USER, "guessing again and again").status == 401
    message = _failure_text(agent)
    locked = agent.sign_in(USER, PASSWORD)
    assert locked.status == 401, "the right password does not open a locked account"
    assert _failure_text(agent) == message
    assert _login_events(inbox)[-1]["outcomeDesc"] == "inbox sign-in: locked"


def test_sign_in_attempts_are_rate_limited(inbox: Inbox) -> None:
    inbox.world.app.state.inbox_sign_in_limiter = RateLimiter(2)
    agent = inbox.agent()
    assert agent.sign_in(USER, "wrong one").status == 401
    assert agent.sign_in(USER, "wrong two").status == 401
    throttled = agent.sign_in(USER, PASSWORD)
    assert throttled.status == 429
    assert "Vänta en minut" in throttled.dom.by_id("error-summary").text


def test_passwords_are_stored_hashed_only(inbox: Inbox) -> None:
    with inbox.world.app.state.session_factory() as session:
        account = session.get(InboxAccount, USER)
        stored = account.password_hash
    assert PASSWORD not in stored
    assert stored.startswith("scrypt$")
    assert verify_password(PASSWORD, stored)
    assert not verify_password(PASSWORD + "x", stored)


def test_a_sign_in_without_the_form_token_is_refused(inbox: Inbox) -> None:
    agent = inbox.agent()
    agent.get("/inbox/logga-in")
    page = agent.post("/inbox/logga-in", {"username": USER, "password": PASSWORD})
    assert page.status == 403
    assert agent.get("/inbox/arenden").status == 303


def test_signing_out_voids_the_cookie_even_if_it_is_replayed(inbox: Inbox) -> None:
    agent = inbox.signed_in()
    stolen = agent.http.cookies.get("kvgw_inbox", path="/inbox")
    assert stolen
    out = agent.submit("/inbox/arenden", "/inbox/logga-ut", {})
    assert out.status == 303
    assert agent.get("/inbox/arenden").status == 303
    replay = inbox.agent()
    replay.http.cookies.set("kvgw_inbox", stolen, path="/inbox")
    page = replay.get("/inbox/arenden")
    assert page.status == 303
    assert page.response.headers["location"].startswith("/inbox/logga-in")


def test_sign_out_needs_the_token_too(inbox: Inbox) -> None:
    agent = inbox.signed_in()
    assert agent.post("/inbox/logga-ut", {"csrf": "forged"}).status == 403
    assert agent.get("/inbox/arenden").status == 200, "still signed in"


@pytest.mark.parametrize(
    ("signed_in_ago", "idle_for"),
    [(60, cookies.IDLE_SECONDS + 60), (cookies.MAX_SECONDS + 60, 60)],
    ids=["idle", "too-old"],
)
def test_an_expired_session_goes_back_to_sign_in(
    inbox: Inbox, signed_in_ago: int, idle_for: int
) -> None:
    agent = inbox.signed_in()
    now = time.time()
    token = inbox.agent()  # a cookie as the gateway would have issued it back then
    value = cookies.sign(
        inbox.world.app.state.settings,
        {"sub": USER, "iat": now - signed_in_ago, "seen": now - idle_for, "csrf": "x" * 43},
    )
    token.http.cookies.set("kvgw_inbox", value, path="/inbox")
    page = token.get("/inbox/arenden/some-task")
    assert page.status == 303
    assert page.response.headers["location"] == (
        "/inbox/logga-in?utloggad=1&till=/inbox/arenden/some-task"
    )
    notice = token.get(page.response.headers["location"])
    assert "inte har använt inkorgen på en stund" in notice.dom.find(role="status").text
    assert agent.get("/inbox/arenden").status == 200, "the live session is unaffected"


def test_every_page_renews_the_idle_period_but_not_the_sign_in_time(inbox: Inbox) -> None:
    agent = inbox.signed_in()
    first = cookies.unsign(inbox.world.app.state.settings, agent.http.cookies.get("kvgw_inbox"))
    time.sleep(0.05)
    agent.get("/inbox/arenden")
    second = cookies.unsign(inbox.world.app.state.settings, agent.http.cookies.get("kvgw_inbox"))
    assert first is not None
    assert second is not None
    assert second["seen"] > first["seen"]
    assert second["iat"] == first["iat"]
    assert second["csrf"] == first["csrf"]


def test_a_tampered_cookie_is_ignored(inbox: Inbox) -> None:
    agent = inbox.signed_in()
    value = agent.http.cookies.get("kvgw_inbox", path="/inbox")
    assert value
    body, mac = value.split(".")
    forged = inbox.agent()
    forged.http.cookies.set("kvgw_inbox", body + "x." + mac, path="/inbox")
    assert forged.get("/inbox/arenden").status == 303


def test_after_sign_in_she_returns_to_the_page_she_asked_for_and_nowhere_else(
    inbox: Inbox,
) -> None:
    agent = inbox.agent()
    first = agent.get("/inbox/arenden/abc-123")
    assert first.response.headers["location"] == "/inbox/logga-in?till=/inbox/arenden/abc-123"
    form = agent.get(first.response.headers["location"])
    assert form.dom.find("input", name="till").attrs["value"] == "/inbox/arenden/abc-123"
    back = agent.post(
        "/inbox/logga-in",
        {
            "csrf": form.csrf(),
            "username": USER,
            "password": PASSWORD,
            "till": "/inbox/arenden/abc-123",
        },
    )
    assert back.response.headers["location"] == "/inbox/arenden/abc-123"
    other = inbox.agent()
    token = other.get("/inbox/logga-in").csrf()
    away = other.post(
        "/inbox/logga-in",
        {"csrf": token, "username": USER, "password": PASSWORD, "till": "https://evil.example"},
    )
    assert away.response.headers["location"] == "/inbox/arenden"


@pytest.mark.parametrize(
    "query",
    [
        "/inbox/arenden/../../x",
        "/inbox/arenden/./../x",
        "/inbox/arenden/abc-123/..",
        "/inbox/arenden/%2e%2e/%2E%2E/x",  # decoded to .. before it is checked
        "/inbox/arenden/%252e%252e/x",  # stays %2e%2e, which a browser resolves as ..
        "/inbox/arenden%0a",
    ],
)
def test_a_return_path_that_leads_out_of_the_inbox_is_not_followed(
    inbox: Inbox, query: str
) -> None:
    signed_in = inbox.signed_in()
    already = signed_in.get(f"/inbox/logga-in?till={query}")
    assert already.status == 303
    assert already.response.headers["location"] == "/inbox/arenden"
    agent = inbox.agent()
    form = agent.get(f"/inbox/logga-in?till={query}")
    assert form.status == 200
    assert not form.dom.has("input", name="till"), "the form does not carry it on"
    back = agent.post(
        "/inbox/logga-in",
        {"csrf": form.csrf(), "username": USER, "password": PASSWORD, "till": unquote(query)},
    )
    assert back.status == 303
    assert back.response.headers["location"] == "/inbox/arenden"


def test_pages_carry_the_security_headers(inbox: Inbox) -> None:
    agent = inbox.signed_in()
    for path in ("/inbox/logga-in", "/inbox/arenden"):
        headers = agent.get(path).response.headers
        assert "default-src 'none'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["cache-control"] == "no-store"
        assert headers["referrer-policy"] == "no-referrer"


def test_a_form_in_another_format_is_refused_with_a_page(inbox: Inbox) -> None:
    agent = inbox.signed_in()
    response = agent.http.post(
        "/inbox/arenden/x/meddelande", json={"message": "hej"}, follow_redirects=False
    )
    assert response.status_code == 415
    assert response.headers["content-type"].startswith("text/html")
