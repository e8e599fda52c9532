"""Reading a request body safely: size limit, JSON syntax, nesting depth, a JSON object."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from gateway.api.media import require_json_body
from gateway.errors import FhirError


def _too_large(limit: int) -> FhirError:
    return FhirError.single(
        413,
        "too-costly",
        "Meddelandet är för stort för att tas emot.",
        diagnostics=f"the body exceeds the limit of {limit} bytes",
    )


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(current, dict):
            stack.extend((v, depth + 1) for v in current.values())
        elif isinstance(current, list):
            stack.extend((v, depth + 1) for v in current)
    return False


async def read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json_object(raw: bytes, max_depth: int) -> dict[str, Any]:
    """Bytes -> a JSON object, or 400 with a Swedish explanation."""
    if not raw.strip():
        raise FhirError.single(
            400, "invalid", "Meddelandet är tomt.", diagnostics="the request body is empty"
        )
    try:
        parsed = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise FhirError.single(
            400, "invalid", "Meddelandet är inte UTF-8-kodat.", diagnostics="body is not UTF-8"
        ) from None
    except json.JSONDecodeError as error:
        raise FhirError.single(
            400,
            "invalid",
            "Meddelandet är inte giltig JSON.",
            diagnostics=f"JSON syntax error at line {error.lineno} column {error.colno}",
        ) from None
    except ValueError:  # a number too long to read (more than 4 300 digits)
        raise FhirError.single(
            400,
            "invalid",
            "Meddelandet innehåller ett tal som är för långt.",
            diagnostics="a JSON number exceeds the integer digit limit",
        ) from None
    except RecursionError:
        parsed = None
        depth_error = True
    else:
        depth_error = _depth_exceeds(parsed, max_depth)
    if depth_error:
        raise FhirError.single(
            400,
            "too-costly",
            "Meddelandet är för djupt nästlat.",
            diagnostics=f"JSON nesting deeper than {max_depth} levels",
        )
    if not isinstance(parsed, dict):
        raise FhirError.single(
            400,
            "structure",
            "Meddelandet ska vara en FHIR-resurs (ett JSON-objekt).",
            diagnostics="the body must be a JSON object",
        )
    return parsed


async def read_resource_body(request: Request, *, max_bytes: int, max_depth: int) -> dict[str, Any]:
    require_json_body(request)
    raw = await read_limited(request, max_bytes)
    return parse_json_object(raw, max_depth)


def repeating(body: Mapping[str, Any], name: str, where: str) -> list[Any]:
    """A repeating element of a parsed body, ``body[name]``: its items, none when it is
    absent; 400 at ``where`` when it is not a JSON array."""
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise FhirError.single(
            400,
            "structure",
            f"{where} ska vara en lista.",
            expression=where,
            diagnostics=f"{name} must be an array",
        )
    return value
