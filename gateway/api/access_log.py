"""ASGI middleware: a request id, an access-log line, the request metrics and security
headers.

The log line and the metrics name the route template (``/fhir/{resource_type}/{res_id}``),
never the raw path or query string, which may carry a personnummer.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.logging import get_logger
from gateway.metrics import HTTP_DURATION, HTTP_REQUESTS

log = get_logger("gateway.access")

# Anything else a client sends as a method is counted as "other": labels stay few.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        started = time.perf_counter()
        status_holder: dict[str, Any] = {"status": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope.get("method")
            label = method if method in _METHODS else "other"
            HTTP_REQUESTS.labels(label, route, str(status_holder["status"])).inc()
            HTTP_DURATION.labels(label, route).observe(seconds)
            log.info(
                "request",
                request_id=request_id,
                method=method,
                route=route,
                status=status_holder["status"],
                duration_ms=round(seconds * 1000, 2),
            )
