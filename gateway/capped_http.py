"""Reading a peer's answer without trusting its size.

Every answer from another system (a journal system, the national platform, a region's
listing service, a client's published keys) is read as it streams in and abandoned as
soon as it passes the caller's limit, or declares a length above it. Reading it whole
first and measuring afterwards would let a hostile or broken peer make the gateway hold
as much as it cares to send.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

# Describe the body as it was sent; the returned body is already decoded and complete.
_TRANSFER_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class ResponseTooLargeError(Exception):
    """The answer is, or says it will be, larger than ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the answer is larger than {limit} bytes")
        self.limit = limit


def send_capped(
    client: httpx.Client, method: str, url: str, *, max_bytes: int, **request: Any
) -> httpx.Response:
    """Send the request and read at most ``max_bytes`` of the (decoded) answer.

    Returns a read Response (``content``, ``text`` and ``json()`` work). Raises
    :class:`ResponseTooLargeError`, or the httpx error of a failed exchange.
    """
    with client.stream(method, url, **request) as streamed:
        declared = streamed.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise ResponseTooLargeError(max_bytes)
        body = bytearray()
        for chunk in streamed.iter_bytes():
            body += chunk
            if len(body) > max_bytes:
                raise ResponseTooLargeError(max_bytes)
    return httpx.Response(
        streamed.status_code,
        headers=[
            (name, value)
            for name, value in streamed.headers.multi_items()
            if name.lower() not in _TRANSFER_HEADERS
        ],
        content=bytes(body),
        request=streamed.request,
    )


def json_object(response: httpx.Response) -> dict[str, Any] | None:
    """The answer's body as a JSON object, or None when it is not one."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
