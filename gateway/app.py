"""The FastAPI application: wiring of settings, database, validation and routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine

from gateway import __version__
from gateway.api import health, routes
from gateway.api.access_log import AccessLogMiddleware
from gateway.api.outcome import install_error_handlers
from gateway.logging import configure_logging, get_logger
from gateway.security.caller import authenticator_for
from gateway.settings import AuthMode, Settings, get_settings
from gateway.store.db import make_engine, make_session_factory
from gateway.store.resources import utc_now
from gateway.validation.pipeline import ValidationPipeline
from gateway.web import landing

log = get_logger(__name__)

DEMO_WARNING = (
    "DEMO IDENTITY IS ON: every caller is treated as the demo operator with all scopes. "
    "Never use this with real personal data or beyond localhost."
)


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or make_engine(
        settings.database_url.get_secret_value(),
        sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.auth_mode is AuthMode.DEMO:
            log.warning("demo_identity_enabled", message=DEMO_WARNING)
        yield

    app = FastAPI(
        title="kv-gateway",
        version=__version__,
        description="FHIR R4 gateway for requests for a medicinskt utlåtande between "
        "kommun social services and the vårdcentral where the person is listed.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.validator = ValidationPipeline()
    app.state.authenticator = authenticator_for(settings.auth_mode)
    app.state.started_at = utc_now().isoformat(timespec="seconds").replace("+00:00", "Z")

    install_error_handlers(app)
    app.add_middleware(AccessLogMiddleware)
    app.include_router(health.router)
    app.include_router(routes.router)
    app.include_router(landing.router)
    return app


def app_from_environment() -> FastAPI:
    """Factory for ``uvicorn --factory gateway.app:app_from_environment``."""
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    return create_app(settings)
