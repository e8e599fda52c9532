"""What a peer's access log would hold: the request line of every HTTP request it receives.

Wrap a peer's ASGI app in :class:`RequestLines` and serve it on loopback
(:func:`tests.support.live_server.serve`): each request's method, target (path and query
string, as the client sent them) and HTTP version are kept, as a server or proxy logs them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Receive, Scope, Send


@dataclass
class RequestLines:
    app: ASGIApp
    lines: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            target = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
            query = scope.get("query_string", b"").decode("latin-1")
            line = f"{scope['method']} {target}{'?' + query if query else ''}"
            with self.lock:
                self.lines.append(f"{line} HTTP/{scope.get('http_version', '1.1')}")
        await self.app(scope, receive, send)

    def seen(self) -> list[str]:
        with self.lock:
            return list(self.lines)
