"""The inbox's session cookie and CSRF tokens.

The cookie holds ``base64(json).base64(HMAC-SHA256)``: the username, when she signed in,
when she was last active, and the session's CSRF token. Its key is derived from
``KVGW_TOKEN_SECRET`` with a label of its own, so no new secret is needed. The cookie is
HttpOnly, SameSite=Strict, limited to ``/inbox`` and Secure when the public base URL is
https.

A session ends after :data:`IDLE_SECONDS` without a request (every page renews it) and
at the latest :data:`MAX_SECONDS` after sign-in; signing out voids every cookie issued
before it (``InboxIdentityProvider.sign_out``). Every POST carries the session's CSRF
token in a hidden field (synchronizer token); the sign-in form, which has no session yet,
uses a short-lived signed pre-session cookie the same way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gateway.settings import Settings

COOKIE = "kvgw_inbox"
LOGIN_COOKIE = "kvgw_inbox_login"
IDLE_SECONDS = 30 * 60
MAX_SECONDS = 10 * 60 * 60
LOGIN_FORM_SECONDS = 30 * 60
CLOCK_SKEW_SECONDS = 5
PATH = "/inbox"


def _key(settings: Settings) -> bytes:
    secret = settings.token_secret.get_secret_value().encode()
    return hmac.new(secret, b"kv-gateway inbox session v1", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(settings: Settings, payload: dict[str, Any]) -> str:
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    mac = hmac.new(_key(settings), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def unsign(settings: Settings, value: str | None) -> dict[str, Any] | None:
    """The payload if the signature is right, else None."""
    if not value or value.count(".") != 1:
        return None
    body, mac = value.split(".")
    expected = hmac.new(_key(settings), body.encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(_unb64(mac), expected):
            return None
        payload = json.loads(_unb64(body))
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _age_ok(stamp: Any, limit: int, now: float) -> bool:
    return isinstance(stamp, int | float) and -CLOCK_SKEW_SECONDS <= now - stamp <= limit


@dataclass(frozen=True)
class InboxSession:
    username: str
    signed_in_at: datetime
    csrf: str
    signed_in_ts: float


def read_session(request: Request, settings: Settings) -> InboxSession | None:
    """The session of a signed cookie that has been active recently and is not too old."""
    payload = unsign(settings, request.cookies.get(COOKIE))
    if payload is None:
        return None
    now = time.time()
    username, csrf = payload.get("sub"), payload.get("csrf")
    if not isinstance(username, str) or not isinstance(csrf, str) or not csrf:
        return None
    if not _age_ok(payload.get("iat"), MAX_SECONDS, now):
        return None
    if not _age_ok(payload.get("seen"), IDLE_SECONDS, now):
        return None
    signed_in = float(payload["iat"])
    return InboxSession(username, datetime.fromtimestamp(signed_in, UTC), csrf, signed_in)


def had_session(request: Request) -> bool:
    """Whether the browser sent a session cookie at all (expired or not)."""
    return COOKIE in request.cookies


def _secure(settings: Settings) -> bool:
    return settings.public_base_url.lower().startswith("https://")


def _set(response: Response, settings: Settings, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PATH,
        httponly=True,
        secure=_secure(settings),
        samesite="strict",
    )


def start_session(response: Response, settings: Settings, username: str) -> None:
    now = time.time()
    payload = {"sub": username, "iat": now, "seen": now, "csrf": secrets.token_urlsafe(32)}
    _set(response, settings, COOKIE, sign(settings, payload), IDLE_SECONDS)
    response.delete_cookie(LOGIN_COOKIE, path=PATH)


def renew_session(response: Response, settings: Settings, session: InboxSession) -> None:
    """Keep an active session alive: a fresh idle period, same sign-in time and token."""
    payload = {
        "sub": session.username,
        "iat": session.signed_in_ts,
        "seen": time.time(),
        "csrf": session.csrf,
    }
    _set(response, settings, COOKIE, sign(settings, payload), IDLE_SECONDS)


def end_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path=PATH)


def sets_session_cookie(response: Response) -> bool:
    """Whether the response already sets or deletes the session cookie."""
    prefix = f"{COOKIE}="
    return any(v.startswith(prefix) for v in response.headers.getlist("set-cookie"))


def login_csrf(request: Request, settings: Settings) -> tuple[str, str | None]:
    """The sign-in form's CSRF token, and a new pre-session cookie value if one is needed."""
    payload = unsign(settings, request.cookies.get(LOGIN_COOKIE))
    if (
        payload is not None
        and isinstance(payload.get("csrf"), str)
        and _age_ok(payload.get("iat"), LOGIN_FORM_SECONDS // 2, time.time())
    ):
        return payload["csrf"], None
    token = secrets.token_urlsafe(32)
    return token, sign(settings, {"iat": time.time(), "csrf": token})


def set_login_cookie(response: Response, settings: Settings, value: str) -> None:
    _set(response, settings, LOGIN_COOKIE, value, LOGIN_FORM_SECONDS)


def login_token_matches(request: Request, settings: Settings, submitted: str) -> bool:
    payload = unsign(settings, request.cookies.get(LOGIN_COOKIE))
    if payload is None or not _age_ok(payload.get("iat"), LOGIN_FORM_SECONDS, time.time()):
        return False
    expected = payload.get("csrf")
    return isinstance(expected, str) and hmac.compare_digest(expected.encode(), submitted.encode())


def token_matches(session: InboxSession, submitted: str) -> bool:
    return bool(submitted) and hmac.compare_digest(session.csrf.encode(), submitted.encode())
