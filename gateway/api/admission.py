"""ASGI middleware: at most so many requests at work per process, a bounded queue behind.

Past its capacity a server that takes every request makes every request slow: they all
compete for the same cores (and, in one Python process, for one GIL), answers come after
the callers have given up, and their retries pile on. So each process works on at most
``max_active`` requests; up to ``max_queued`` more wait, in arrival order, for at most
``queue_timeout`` seconds; anything beyond gets an immediate 503 with ``Retry-After`` and
an OperationOutcome (``throttled``) that says in Swedish to try again shortly.

``max_active`` also keeps the database pool from running dry: an admitted request holds
at most one pooled connection at a time, so with ``max_active`` below the pool's size an
admitted request never waits for a connection.

The probes and the metrics are always answered: a busy process is alive, and its load is
what an operator wants to see.
"""

from __future__ import annotations

import asyncio

from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.api.outcome import outcome_response
from gateway.errors import FhirError
from gateway.metrics import REQUESTS_ACTIVE, REQUESTS_QUEUED, REQUESTS_SHED

ALWAYS_ADMITTED = frozenset({"/healthz", "/readyz", "/metrics"})
RETRY_AFTER_SECONDS = 1
BUSY_TEXT = "Tjänsten har fler förfrågningar än den hinner med just nu. Försök igen om en stund."


class AdmissionControl:
    def __init__(
        self, app: ASGIApp, *, max_active: int, max_queued: int, queue_timeout: float
    ) -> None:
        self.app = app
        self.max_active = max_active
        self.max_queued = max_queued
        self.queue_timeout = queue_timeout
        # Made in the event loop that serves (one per process; tests may run several).
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots = asyncio.Semaphore(max_active)
        self._queued = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.max_active <= 0 or scope["path"] in ALWAYS_ADMITTED:
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop, self._slots, self._queued = loop, asyncio.Semaphore(self.max_active), 0
        slots = self._slots
        if slots.locked():
            if self._queued >= self.max_queued:
                await self._refuse(scope, receive, send, "queue-full")
                return
            if not await self._wait(slots):
                await self._refuse(scope, receive, send, "queue-timeout")
                return
        else:
            await slots.acquire()
        REQUESTS_ACTIVE.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            REQUESTS_ACTIVE.dec()
            slots.release()

    async def _wait(self, slots: asyncio.Semaphore) -> bool:
        """Wait in line for a slot; False if none came within the queue timeout."""
        self._queued += 1
        REQUESTS_QUEUED.inc()
        try:
            await asyncio.wait_for(slots.acquire(), self.queue_timeout)
        except TimeoutError:
            return False
        finally:
            self._queued -= 1
            REQUESTS_QUEUED.dec()
        return True

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, reason: str) -> None:
        REQUESTS_SHED.labels(reason).inc()
        retry = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        response: Response
        if str(scope["path"]).startswith("/inbox"):  # a person in a browser
            page = f'<!doctype html><html lang="sv"><p>{BUSY_TEXT}</p></html>'
            response = HTMLResponse(page, status_code=503, headers=retry)
        else:
            response = outcome_response(
                FhirError.single(
                    503,
                    "throttled",
                    BUSY_TEXT,
                    diagnostics=f"over capacity ({reason}): {self.max_active} requests at work "
                    f"per process, {self.max_queued} waiting at most {self.queue_timeout:g} s",
                    headers=retry,
                )
            )
        await response(scope, receive, send)
