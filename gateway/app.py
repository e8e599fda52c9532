"""The FastAPI application: wiring of settings, database, validation and routes."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from gateway import __version__
from gateway.api import health, routes, smart, validate, workflow_routes
from gateway.api.access_log import AccessLogMiddleware
from gateway.api.admission import AdmissionControl
from gateway.api.outcome import install_error_handlers
from gateway.database import open_database
from gateway.delivery.background import start_in_background
from gateway.delivery.inbound import InboundApplier
from gateway.delivery.outbox import RetryPolicy
from gateway.delivery.poller import JournalPoller
from gateway.delivery.registry import AdapterRegistry
from gateway.delivery.webhook_targets import WebhookTargets
from gateway.delivery.worker import DeliveryWorker
from gateway.logging import configure_logging, get_logger
from gateway.rivta import endpoint as rivta_endpoint
from gateway.routing import api as routing_api
from gateway.security.assertions import JwksCache
from gateway.security.audit import AuditLog
from gateway.security.authentication import SmartAuthenticator
from gateway.security.caller import authenticator_for
from gateway.security.rate_limit import RateLimiter
from gateway.settings import AuthMode, Settings, get_settings
from gateway.store.reindex import stale
from gateway.store.resources import utc_now
from gateway.validation.factory import build_validator
from gateway.web import landing
from gateway.web.inbox import routes as inbox
from gateway.workflow.dispatch import JournalRequestHandler, RestHookHandler
from gateway.workflow.hooks import WORKFLOW_HOOKS
from gateway.workflow.notices import JOURNAL_NOTICE, JournalNoticeHandler
from gateway.workflow.submit import JOURNAL_REQUEST
from gateway.workflow.subscriptions import NOTIFICATION

log = get_logger(__name__)

AUDIT_SEAL_SECONDS = 2.0

DEMO_WARNING = (
    "DEMO IDENTITY IS ON: every caller is treated as the demo operator with all scopes. "
    "Never use this with real personal data or beyond localhost."
)


def _warn_of_a_stale_index(sessions: sessionmaker[Session]) -> None:
    """Searches may miss what the types named were indexed with before this release or
    key: say so at start-up, as ``kv-gateway db current`` does (gateway.store.index_marks)."""
    try:
        types = stale(sessions)
    except SQLAlchemyError as error:
        log.warning("search_index_unchecked", error=type(error).__name__)
        return
    if types:
        log.warning("search_index_stale", types=types, fix="kv-gateway db reindex --stale")


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    database = open_database(settings, engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.auth_mode is AuthMode.DEMO:
            log.warning("demo_identity_enabled", message=DEMO_WARNING)
        weak = settings.development_secrets_in_use()
        if weak:
            log.warning("development_keys_in_use", keys=weak)
        _warn_of_a_stale_index(app.state.session_factory)
        halt = (
            start_in_background(app.state.worker.run_forever, 1.0, "outbox")
            if settings.delivery_worker_in_process
            else None
        )
        halt_polling = (
            start_in_background(
                app.state.poller.run_forever, settings.journal_poll_seconds, "journal-poll"
            )
            if settings.delivery_worker_in_process and settings.journal_poll_seconds > 0
            else None
        )
        # Links the audit events a busy chain left waiting (PostgreSQL only: SQLite runs
        # one writer at a time, so none ever waits there).
        halt_sealing = (
            start_in_background(
                partial(app.state.audit.seal_forever, app.state.session_factory),
                AUDIT_SEAL_SECONDS,
                "audit-seal",
            )
            if app.state.engine.dialect.name == "postgresql"
            else None
        )
        yield
        if halt_sealing is not None:
            halt_sealing()
        if halt_polling is not None:
            halt_polling()
        if halt is not None:
            halt()

    app = FastAPI(
        title="kv-gateway",
        version=__version__,
        description="FHIR R4 gateway for requests for a medicinskt utlåtande between "
        "kommun social services and the vårdcentral where the person is listed.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = database.engine
    app.state.session_factory = database.sessions
    app.state.protection = database.protection
    app.state.validator = build_validator(settings)
    app.state.audit = AuditLog(settings.audit_chain_key.get_secret_value().encode())
    app.state.jwks_cache = JwksCache(ttl=settings.jwks_cache_seconds)
    app.state.authenticator = (
        SmartAuthenticator(
            settings,
            database.sessions,
            app.state.audit,
            RateLimiter(settings.rate_limit_per_minute),
        )
        if settings.auth_mode is AuthMode.SMART
        else authenticator_for(settings.auth_mode)
    )
    app.state.hooks = WORKFLOW_HOOKS
    app.state.registry = AdapterRegistry.from_entry_points()
    app.state.worker = DeliveryWorker(
        database.sessions,
        {
            JOURNAL_REQUEST: JournalRequestHandler(
                database.sessions, app.state.registry, app.state.audit, settings
            ),
            NOTIFICATION: RestHookHandler(
                database.sessions,
                settings.fhir_base_url,
                app.state.audit,
                WebhookTargets.from_settings(settings),
            ),
            JOURNAL_NOTICE: JournalNoticeHandler(
                database.sessions, app.state.registry, app.state.audit
            ),
        },
        RetryPolicy(max_attempts=settings.delivery_max_attempts),
        lanes=settings.delivery_lanes,
    )
    app.state.inbound = InboundApplier(
        database.sessions, settings, app.state.audit, app.state.validator, app.state.hooks
    )
    app.state.poller = JournalPoller(database.sessions, app.state.registry, app.state.inbound)
    app.state.started_at = utc_now().isoformat(timespec="seconds").replace("+00:00", "Z")

    install_error_handlers(app)
    app.add_middleware(
        AdmissionControl,
        max_active=settings.max_active_requests,
        max_queued=settings.max_queued_requests,
        queue_timeout=settings.queue_timeout_seconds,
    )
    app.add_middleware(AccessLogMiddleware)  # outermost: refusals are logged and counted too
    app.include_router(health.router)
    app.include_router(smart.router)
    app.include_router(routing_api.router)  # before routes: /fhir/{type} would capture it
    app.include_router(workflow_routes.router)  # likewise
    app.include_router(validate.router)  # before routes: /fhir/{type}/{id} would capture it
    app.include_router(routes.router)
    app.include_router(landing.router)
    app.include_router(rivta_endpoint.router)  # RIVTA SOAP: POST /rivta/{contract}/1/rivtabp21
    app.include_router(inbox.router)  # /inbox: the rehabkoordinator web inbox
    return app


def app_from_environment() -> FastAPI:
    """Factory for ``uvicorn --factory gateway.app:app_from_environment``."""
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    app = create_app(settings)
    freeze_startup_heap()
    return app


def freeze_startup_heap() -> None:
    """Move everything built at startup out of the garbage collector's sight.

    The profiles, the validator, the FHIR models and the SQL metadata make a large heap
    that lives as long as the process. A full collection walked all of it: 90-200 ms
    with every request of the worker process stopped, which set the p99 latency at
    50 submits/s. Frozen objects are never collected, so this is for a serving process
    after startup only, not for an app built in a test.
    """
    gc.collect()
    gc.freeze()
