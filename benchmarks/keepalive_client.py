"""The benchmark's HTTP client: one keep-alive HTTP/1.1 connection on the standard
library's ``http.client``.

The client threads share the measured machine with the servers, so every millisecond of
CPU the client spends per request is taken from the servers under test. ``httpx`` spent
0.5-1.0 ms of CPU per request here (its request and response models, the transport
layers); ``http.client`` sends the prepared request and reads the answer with a fraction
of that. What the servers do, and what is checked of their answers, is unchanged.
"""

from __future__ import annotations

import http.client
import time
from types import TracebackType
from urllib.parse import urlsplit

# uvicorn closes a keep-alive connection idle for 5 s (its default). A POST sent on a
# connection the server is closing fails (broken pipe); reopening a connection idle this
# long avoids that without ever sending a request twice.
IDLE_REOPEN_SECONDS = 4.0


class KeepAliveConnection:
    """One connection, used by one thread at a time."""

    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"an http:// base URL is needed, got {base_url!r}")
        self._connection = http.client.HTTPConnection(
            parts.hostname, parts.port or 80, timeout=timeout
        )
        self._last_used = time.monotonic()

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """Send one request and read its whole answer: (status, body)."""
        # A bytes body goes out in one send() with the headers (http.client), and the
        # connection sets TCP_NODELAY: no wait for a delayed ACK between the two.
        if time.monotonic() - self._last_used > IDLE_REOPEN_SECONDS:
            self._connection.close()  # the next request opens a new one
        self._connection.request(method, path, body=body, headers=headers or {})
        response = self._connection.getresponse()
        answer = response.read()
        self._last_used = time.monotonic()
        return response.status, answer

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> KeepAliveConnection:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
