"""OperationOutcome rendering and the exception handlers that guarantee every error is one."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from gateway.api.media import FhirResponse
from gateway.errors import FhirError, Issue, Severity
from gateway.logging import get_logger, raised_at

log = get_logger(__name__)


def operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    rendered = []
    for issue in issues:
        entry: dict[str, Any] = {
            "severity": issue.severity.value,
            "code": issue.code,
            "details": {"text": issue.text_sv},
        }
        if issue.diagnostics:
            entry["diagnostics"] = issue.diagnostics
        if issue.expression:
            entry["expression"] = list(issue.expression)
        rendered.append(entry)
    return {"resourceType": "OperationOutcome", "issue": rendered}


def information(text_sv: str, diagnostics: str | None = None) -> dict[str, Any]:
    return operation_outcome(
        [Issue("informational", text_sv, Severity.INFORMATION, (), diagnostics)]
    )


def outcome_response(error: FhirError, request: Request | None = None) -> Response:
    return FhirResponse(
        operation_outcome(error.issues),
        status_code=error.status,
        headers=error.headers,
        request=request,
    )


DATABASE_RETRY_AFTER_SECONDS = 5

_HTTP_TEXTS: dict[int, tuple[str, str]] = {
    404: ("not-found", "Adressen finns inte på den här servern."),
    405: ("not-supported", "Metoden är inte tillåten på den här adressen."),
    406: ("not-supported", "Servern kan bara svara med FHIR JSON."),
    413: ("too-costly", "Meddelandet är för stort."),
    415: ("not-supported", "Servern tar bara emot FHIR JSON (application/fhir+json)."),
}


async def _fhir_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, FhirError)
    return outcome_response(error, request)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    code, text_sv = _HTTP_TEXTS.get(
        error.status_code, ("processing", "Begäran kunde inte behandlas.")
    )
    fhir_error = FhirError.single(
        error.status_code,
        code,
        text_sv,
        diagnostics=str(error.detail),
        headers=dict(error.headers or {}),
    )
    return outcome_response(fhir_error, request)


async def _request_validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    issues = [
        Issue(
            "invalid",
            "Begäran har ett ogiltigt värde i adressen eller sidhuvudet.",
            diagnostics=f"{e.get('type')} at {'.'.join(str(p) for p in e.get('loc', ()))}",
        )
        for e in error.errors()
    ]
    return outcome_response(FhirError(400, issues), request)


async def _unexpected(request: Request, error: Exception) -> Response:
    # Never a stack trace to the client; the log gets the type, not the message (which
    # may carry data from the request).
    log.error(
        "unhandled_error",
        error_type=type(error).__name__,
        raised_at=raised_at(error),
        path=request.scope.get("route_path"),
    )
    return outcome_response(
        FhirError.single(
            500,
            "exception",
            "Ett oväntat fel inträffade i tjänsten. Försök igen senare eller kontakta support.",
            diagnostics="internal error; see the gateway log for the request id",
        ),
        request,
    )


async def _database_unavailable(request: Request, error: Exception) -> Response:
    # Unreachable, locked past the busy timeout, out of pooled connections: the database
    # cannot serve now, which is the service being unavailable, not a fault in it.
    log.error("database_unavailable", error_type=type(error).__name__)
    return outcome_response(
        FhirError.single(
            503,
            "transient",
            "Tjänsten når inte sin databas just nu. Försök igen om en stund.",
            diagnostics="the database did not answer in time",
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        ),
        request,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(FhirError, _fhir_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(PoolTimeoutError, _database_unavailable)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(Exception, _unexpected)
