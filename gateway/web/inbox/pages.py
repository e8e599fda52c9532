"""What every inbox page shares: the signed-in visit, one audited FHIR transaction per
request, form reading, rendering, and the headers on every response.

Every read and write goes through :class:`FhirInteractions` as a :class:`Caller` of kind
vårdcentral for the signed-in user's unit, exactly like the FHIR API: tenant rules,
workflow hooks, validation and the audit trail apply.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import RedirectResponse, Response

from gateway.api.app_state import interactions_for, settings_of
from gateway.api.body import read_limited
from gateway.api.interactions import FhirInteractions
from gateway.errors import FhirError
from gateway.security.audit import AuditLog, AuditTrail, audited_transaction
from gateway.security.caller import Caller, PartyKind
from gateway.web.inbox import session as cookies
from gateway.web.inbox.accounts import InboxIdentityProvider, InboxUser, LocalAccounts
from gateway.web.inbox.views import local_time

WEB = Path(__file__).resolve().parents[1]
templates = Jinja2Templates(directory=str(WEB / "templates"))
templates.env.filters["local_time"] = local_time

# What the inbox may do, as SMART system scopes: read the case, change the Task, write
# answers and messages. Nothing else, whatever the tenant rules would allow.
INBOX_SCOPES = frozenset(
    {
        "system/Task.rus",
        "system/ServiceRequest.rs",
        "system/Patient.rs",
        "system/Consent.rs",
        "system/Organization.rs",
        "system/PractitionerRole.rs",
        "system/Practitioner.rs",
        "system/QuestionnaireResponse.crs",
        "system/Communication.crs",
    }
)
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
MAX_FORM_BYTES = 256 * 1024
MAX_FORM_FIELDS = 2000

Fields = list[tuple[str, str]]


class InboxRoute(APIRoute):
    """Every inbox response gets the page security headers, and an active session a fresh
    idle period (the general ones, nosniff, no-store and so on, come from the access-log
    middleware)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def with_headers(request: Request) -> Response:
            try:
                response = await handle(request)
            except PageInterruptedError as interrupt:  # not signed in, or a form without its token
                response = interrupt.response
            except FhirError as error:  # an unreadable form, for one: an HTML page, not JSON
                response = error_page(request, None, error)
            response.headers["content-security-policy"] = CSP
            response.headers["cross-origin-opener-policy"] = "same-origin"
            response.headers["permissions-policy"] = "camera=(), microphone=(), geolocation=()"
            active: cookies.InboxSession | None = getattr(request.state, "inbox_session", None)
            if active is not None and not cookies.sets_session_cookie(response):
                cookies.renew_session(response, settings_of(request), active)
            return response

        return with_headers


def sessions_of(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


def identity_provider(request: Request) -> InboxIdentityProvider:
    """``app.state.inbox_identity`` if a deployment set one (OIDC, SITHS), else local accounts."""
    provider: InboxIdentityProvider | None = getattr(request.app.state, "inbox_identity", None)
    return provider or LocalAccounts()


def caller_for(user: InboxUser) -> Caller:
    return Caller(
        client_id=f"inbox:{user.username}",
        party=user.party,
        party_kind=PartyKind.VARDCENTRAL,
        scopes=INBOX_SCOPES,
    )


@dataclass(frozen=True)
class Visit:
    """A signed-in request: the user and her session's CSRF token."""

    user: InboxUser
    csrf: str


def current_visit(request: Request) -> Visit | None:
    """The signed-in user, if the session cookie is valid and her account still is."""
    session = cookies.read_session(request, settings_of(request))
    if session is None:
        return None
    with sessions_of(request)() as db, db.begin():
        user = identity_provider(request).current(db, session.username, session.signed_in_at)
    if user is None:
        return None
    request.state.inbox_session = session
    return Visit(user, session.csrf)


def to_sign_in(request: Request) -> Response:
    """Back to the sign-in page, saying why, and where to return to afterwards."""
    query: list[str] = []
    if cookies.had_session(request):
        query.append("utloggad=1")
    if request.method == "GET" and request.url.path.startswith("/inbox/arenden"):
        query.append("till=" + quote(request.url.path, safe="/"))
    target = "/inbox/logga-in" + ("?" + "&".join(query) if query else "")
    response = RedirectResponse(target, status_code=303)
    if cookies.had_session(request):
        cookies.end_session(response)
    return response


@contextmanager
def interactions(request: Request, user: InboxUser) -> Iterator[FhirInteractions]:
    """One audited transaction, as the FHIR routes' ``_session`` has.

    :class:`IncompleteFormError` rolls the transaction back but is no failure of what was
    done: the reads it made are audited as they went.
    """
    caller = caller_for(user)
    trail = AuditTrail(caller)
    audit: AuditLog = request.app.state.audit
    factory = sessions_of(request)
    with audited_transaction(factory, audit, trail, not_failures=(IncompleteFormError,)) as session:
        yield interactions_for(request, session, caller, trail)


class IncompleteFormError(Exception):
    """The form cannot be sent as it is: shown again with the messages, nothing written."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("incomplete form")
        self.errors = errors


async def read_fields(request: Request) -> Fields:
    """The posted form (``application/x-www-form-urlencoded``), at most 256 KiB."""
    if request.headers.get("content-type", "").split(";")[0].strip() != (
        "application/x-www-form-urlencoded"
    ):
        raise FhirError.single(
            415, "not-supported", "Formuläret skickades i ett format som inte stöds."
        )
    raw = await read_limited(request, MAX_FORM_BYTES)
    try:
        return parse_qsl(
            raw.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FORM_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise FhirError.single(400, "invalid", "Formuläret kunde inte läsas.") from None


def field(fields: Fields, name: str) -> str:
    return next((v for k, v in fields if k == name), "")


def csrf_ok(request: Request, fields: Fields) -> bool:
    """Whether the form carries the CSRF token of the session that :func:`current_visit`
    found for this request."""
    session: cookies.InboxSession | None = getattr(request.state, "inbox_session", None)
    return session is not None and cookies.token_matches(session, field(fields, "csrf"))


class PageInterruptedError(Exception):
    """A page's dependency answers instead of the page (:class:`InboxRoute` sends it)."""

    def __init__(self, response: Response) -> None:
        super().__init__()
        self.response = response


def signed_in(request: Request) -> Visit:
    """Dependency: the signed-in visit, or off to the sign-in page."""
    visit = current_visit(request)
    if visit is None:
        raise PageInterruptedError(to_sign_in(request))
    return visit


@dataclass(frozen=True)
class Posted:
    """A form posted by a signed-in user, with the session's CSRF token."""

    visit: Visit
    fields: Fields


async def signed_in_post(request: Request, visit: Annotated[Visit, Depends(signed_in)]) -> Posted:
    """Dependency: as :func:`signed_in`, and the posted form, refused without its token."""
    fields = await read_fields(request)
    if not csrf_ok(request, fields):
        raise PageInterruptedError(refused(request, visit))
    return Posted(visit, fields)


SignedIn = Annotated[Visit, Depends(signed_in)]
SignedInPost = Annotated[Posted, Depends(signed_in_post)]


def page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def message_page(
    request: Request, visit: Visit | None, title: str, text: str, status_code: int
) -> Response:
    return page(
        request,
        "inbox/error.html",
        {"visit": visit, "title": title, "text": text},
        status_code=status_code,
    )


def refused(request: Request, visit: Visit | None) -> Response:
    """A POST without the session's CSRF token: nothing is done."""
    return message_page(
        request,
        visit,
        "Formuläret kunde inte skickas",
        "Sidan var för gammal eller kom inte från inkorgen. Gå tillbaka, ladda om sidan "
        "och försök igen.",
        403,
    )


def error_page(request: Request, visit: Visit | None, error: FhirError) -> Response:
    if error.status == 404:
        title, text = "Ärendet finns inte", "Ärendet finns inte, eller hör inte till din enhet."
    else:
        title = "Åtgärden kunde inte genomföras"
        text = " ".join(i.text_sv for i in error.issues) or "Ett fel inträffade."
    status = error.status if 400 <= error.status < 600 else 500
    return message_page(request, visit, title, text, status)


def see_other(path: str) -> Response:
    return RedirectResponse(path, status_code=303)
