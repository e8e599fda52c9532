"""SMART Backend Services: discovery document and the client_credentials token endpoint.

The token endpoint answers errors in OAuth 2.0 form (RFC 6749 §5.2: ``error`` and
``error_description``), as every SMART client library expects, not as OperationOutcome;
a form over the size limit too (``invalid_request`` with the HTTP status 413 that says
why). Every request is audited, refusals included.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from gateway.api.body import read_limited
from gateway.errors import FhirError
from gateway.security.assertions import AssertionRejectedError, authenticate_client
from gateway.security.scopes import grant
from gateway.security.tokens import issue
from gateway.settings import Settings

router = APIRouter(tags=["SMART Backend Services"])

TOKEN_PATH = "/auth/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_FORM_BYTES = 16 * 1024


def token_url(settings: Settings) -> str:
    return settings.public_base_url.rstrip("/") + TOKEN_PATH


def smart_configuration(settings: Settings) -> dict[str, Any]:
    return {
        "issuer": settings.fhir_base_url,
        "token_endpoint": token_url(settings),
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        "grant_types_supported": ["client_credentials"],
        "scopes_supported": ["system/*.cruds", "system/*.rs"],
        "response_types_supported": ["token"],
        "capabilities": ["client-confidential-asymmetric", "permission-v2"],
    }


@router.get("/.well-known/smart-configuration", summary="SMART discovery")
@router.get("/fhir/.well-known/smart-configuration", summary="SMART discovery (FHIR base)")
def discovery(request: Request) -> JSONResponse:
    return JSONResponse(smart_configuration(request.app.state.settings))


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="kv-gateway"'} if status == 401 else None
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )


@router.post(TOKEN_PATH, summary="Access token (client_credentials with private_key_jwt)")
async def token(request: Request) -> JSONResponse:
    settings: Settings = request.app.state.settings
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        return await _refused(
            request, 400, "invalid_request", "send application/x-www-form-urlencoded"
        )
    try:
        raw = await read_limited(request, MAX_FORM_BYTES)
    except FhirError as unread:  # a body over the limit (413): in OAuth form, as all here
        return await _refused(request, unread.status, "invalid_request", _description(unread))
    form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    if form.get("grant_type") != "client_credentials":
        return await _refused(
            request, 400, "unsupported_grant_type", "only client_credentials is supported"
        )
    if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
        return await _refused(
            request, 400, "invalid_request", "a jwt-bearer client_assertion is required"
        )
    requested = form.get("scope", "").split()
    if not requested:
        return await _refused(request, 400, "invalid_scope", "scope is required")
    return await _issue(request, settings, form["client_assertion"], requested)


def _description(error: FhirError) -> str:
    """An error_description for a FhirError: its English diagnostics for the integrator
    (which never hold patient data), not its Swedish text."""
    diagnostics = next((i.diagnostics for i in error.issues if i.diagnostics), None)
    return diagnostics or "the request body was refused"


async def _refused(request: Request, status: int, error: str, description: str) -> JSONResponse:
    """A request refused before any client is known: audited as every token request is."""
    from starlette.concurrency import run_in_threadpool

    def work() -> JSONResponse:
        with request.app.state.session_factory() as session, session.begin():
            request.app.state.audit.login(session, client_id=None, outcome_ok=False, reason=error)
        return _oauth_error(status, error, description)

    return await run_in_threadpool(work)


async def _issue(
    request: Request, settings: Settings, assertion: str, requested: list[str]
) -> JSONResponse:
    from starlette.concurrency import run_in_threadpool

    def work() -> JSONResponse:
        audit = request.app.state.audit
        with request.app.state.session_factory() as session, session.begin():
            try:
                client = authenticate_client(
                    session,
                    assertion,
                    token_url=token_url(settings),
                    cache=request.app.state.jwks_cache,
                    max_seconds=settings.assertion_max_seconds,
                )
            except AssertionRejectedError as rejected:
                audit.login(session, client_id=None, outcome_ok=False, reason=rejected.error)
                return _oauth_error(401, rejected.error, rejected.description)
            granted = grant(requested, client.scopes.split())
            if not granted:
                audit.login(session, client_id=client.client_id, outcome_ok=False, reason="scope")
                return _oauth_error(400, "invalid_scope", "none of the requested scopes is allowed")
            access_token, lifetime = issue(
                settings, client.client_id, client.party, client.party_kind, granted
            )
            audit.login(session, client_id=client.client_id, outcome_ok=True, reason=None)
        return JSONResponse(
            {
                "access_token": access_token,
                "token_type": "bearer",
                "expires_in": lifetime,
                "scope": " ".join(granted),
            }
        )

    return await run_in_threadpool(work)
