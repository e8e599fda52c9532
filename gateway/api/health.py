"""Liveness and readiness probes, and the Prometheus metrics."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import JSONResponse, Response

from gateway.delivery.outbox import depth
from gateway.errors import FhirError
from gateway.logging import get_logger
from gateway.metrics import ScrapedGauge, exposition

router = APIRouter(tags=["health"])
log = get_logger(__name__)


@router.get("/healthz", summary="The process is alive")
def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/readyz", summary="The database is reachable")
def readyz(request: Request) -> JSONResponse:
    try:
        with request.app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "reachable"})


def _outbox_depth(sessions: sessionmaker[Session]) -> list[tuple[tuple[str, str], float]]:
    try:
        with sessions() as session:
            return depth(session)
    except SQLAlchemyError as error:  # the process's own figures are still worth serving
        log.warning("metrics_outbox_unreadable", error_type=type(error).__name__)
        return []


@router.get(
    "/metrics",
    summary="Prometheus metrics (no personal data)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
def metrics(request: Request) -> Response:
    token = request.app.state.settings.metrics_token
    if token is not None:
        expected = f"Bearer {token.get_secret_value()}".encode()
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            raise FhirError.single(
                401,
                "login",
                "Mätvärdena kräver den nyckel som tjänsten är inställd med.",
                diagnostics="/metrics needs the bearer token set in KVGW_METRICS_TOKEN",
                headers={"WWW-Authenticate": "Bearer"},
            )
    sessions = request.app.state.session_factory
    outbox = ScrapedGauge(
        "kvgw_outbox_messages",
        "Outbox messages by kind and status (pending, delivered, dead, withheld).",
        ("kind", "status"),
        lambda: _outbox_depth(sessions),
    )
    return Response(exposition(outbox), media_type=CONTENT_TYPE_LATEST)
