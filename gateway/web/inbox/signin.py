"""Signing in and out of the inbox, and its static files."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, Response

from gateway.api.app_state import settings_of
from gateway.errors import FhirError
from gateway.security.audit import AuditLog
from gateway.security.rate_limit import RateLimiter
from gateway.web.inbox import session as cookies
from gateway.web.inbox.accounts import SignInFailure
from gateway.web.inbox.pages import (
    WEB,
    InboxRoute,
    Visit,
    csrf_ok,
    current_visit,
    field,
    identity_provider,
    page,
    read_fields,
    refused,
    see_other,
    sessions_of,
)

router = APIRouter(prefix="/inbox", route_class=InboxRoute)

SIGN_IN_ATTEMPTS_PER_MINUTE = 20  # per client address, successful or not
FAILED = (
    "Inloggningen misslyckades. Kontrollera användarnamn och lösenord. Efter flera "
    "misslyckade försök i rad spärras kontot en stund."
)
# Where to go after signing in: an inbox page. A segment "." or ".." would lead a browser
# out of it (/inbox/arenden/../../x is /x); a percent-encoded one has a "%", also refused.
RETURN_TO = re.compile(r"/inbox/arenden(/(?!\.\.?(?:/|$))[A-Za-z0-9.-]{1,64}){0,3}")
STATIC = {"inbox.css": "text/css", "inbox.js": "text/javascript"}
MAX_PASSWORD_CHARS = 1024


@router.get("/static/{name}")
def static(name: str) -> Response:
    media = STATIC.get(name)
    if media is None:
        return Response(status_code=404)
    return FileResponse(WEB / "static" / name, media_type=media)


@router.get("")
@router.get("/")
def home(request: Request) -> Response:
    return see_other("/inbox/arenden" if current_visit(request) else "/inbox/logga-in")


def _return_to(value: str) -> str:
    return value if RETURN_TO.fullmatch(value) else "/inbox/arenden"


def _sign_in_page(
    request: Request,
    *,
    error: str = "",
    notice: str = "",
    username: str = "",
    return_to: str = "",
    status_code: int = 200,
) -> Response:
    settings = settings_of(request)
    token, new_cookie = cookies.login_csrf(request, settings)
    response = page(
        request,
        "inbox/login.html",
        {
            "visit": None,
            "csrf": token,
            "error": error,
            "notice": notice,
            "username": username,
            "return_to": return_to if RETURN_TO.fullmatch(return_to) else "",
        },
        status_code=status_code,
    )
    if new_cookie:
        cookies.set_login_cookie(response, settings, new_cookie)
    return response


@router.get("/logga-in")
def sign_in_form(request: Request) -> Response:
    if current_visit(request) is not None:
        return see_other(_return_to(request.query_params.get("till", "")))
    notice = (
        "Du har loggats ut eftersom du inte har använt inkorgen på en stund. Logga in igen."
        if request.query_params.get("utloggad")
        else ""
    )
    return _sign_in_page(request, notice=notice, return_to=request.query_params.get("till", ""))


def _limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter | None = getattr(request.app.state, "inbox_sign_in_limiter", None)
    if limiter is None:
        limiter = RateLimiter(SIGN_IN_ATTEMPTS_PER_MINUTE)
        request.app.state.inbox_sign_in_limiter = limiter
    return limiter


@router.post("/logga-in")
async def sign_in(request: Request) -> Response:
    try:
        fields = await read_fields(request)
    except FhirError as error:
        return _sign_in_page(request, error=FAILED, status_code=error.status)
    return_to = field(fields, "till")
    settings = settings_of(request)
    if not cookies.login_token_matches(request, settings, field(fields, "csrf")):
        return _sign_in_page(
            request,
            error="Inloggningssidan var för gammal. Försök igen.",
            return_to=return_to,
            status_code=403,
        )
    username = field(fields, "username").strip().lower()[:128]
    try:
        _limiter(request).check(request.client.host if request.client else "unknown")
    except FhirError:
        return _sign_in_page(
            request,
            error="För många inloggningsförsök. Vänta en minut och försök igen.",
            username=username,
            return_to=return_to,
            status_code=429,
        )
    password = field(fields, "password")[:MAX_PASSWORD_CHARS]
    audit: AuditLog = request.app.state.audit
    with sessions_of(request)() as db, db.begin():
        result = identity_provider(request).sign_in(db, username, password)
        known = result.failure is not SignInFailure.UNKNOWN_USER
        audit.login(
            db,
            # An unknown name is not recorded: it may be a mistyped password.
            client_id=f"inbox:{username}" if known else "inbox:(unknown user)",
            outcome_ok=result.user is not None,
            reason=None if result.failure is None else f"inbox sign-in: {result.failure.value}",
        )
    if result.user is None:
        return _sign_in_page(
            request, error=FAILED, username=username, return_to=return_to, status_code=401
        )
    response = see_other(_return_to(return_to))
    cookies.start_session(response, settings, result.user.username)
    return response


@router.post("/logga-ut")
async def sign_out(request: Request) -> Response:
    visit: Visit | None = current_visit(request)
    if visit is None:
        return see_other("/inbox/logga-in")
    fields = await read_fields(request)
    if not csrf_ok(request, fields):
        return refused(request, visit)
    with sessions_of(request)() as db, db.begin():
        identity_provider(request).sign_out(db, visit.user.username)
    response = see_other("/inbox/logga-in")
    cookies.end_session(response)
    return response
