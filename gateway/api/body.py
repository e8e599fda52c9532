"""Reading a request body safely: size limit, JSON syntax, no key twice in one object,
nesting depth, a JSON object."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from gateway.api.media import require_json_body
from gateway.errors import FhirError
from gateway.validation.structure import ELEMENT_NAME


def _too_large(limit: int) -> FhirError:
    return FhirError.single(
        413,
        "too-costly",
        "Meddelandet är för stort för att tas emot.",
        diagnostics=f"the body exceeds the limit of {limit} bytes",
    )


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether a value of the parsed body lies deeper than ``limit`` levels (the body is
    level 1). Level by level, so that only objects and arrays are handled one at a time;
    the parser makes plain dicts and lists, hence the exact type tests."""
    level = [value]
    depth = 1
    while True:
        items: list[Any] = []
        for current in level:
            if type(current) is dict:
                items.extend(current.values())
            elif type(current) is list:
                items.extend(current)
        if not items:
            return False
        depth += 1
        if depth > limit:
            return True
        level = [item for item in items if type(item) is dict or type(item) is list]


class _DuplicateKeyError(Exception):
    """An object of the body names one key twice. Not a ValueError: parse_json_object
    reads those as a number too long."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _DuplicateKeyError
    return obj


# RFC 8259 leaves an object that names a key twice to each parser: Python keeps the last
# value, a proxy or the sender's own validator may keep the first. So it is refused. One
# decoder for every request: json.loads(text, object_pairs_hook=...) builds one a call.
_DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys)

# What a type's name looks like; an element's is ELEMENT_NAME. Only such names are put in
# an error: nothing else that was sent is repeated back.
_TYPE_NAME = re.compile(r"[A-Z][A-Za-z]{0,63}")


class _Twice(dict[str, Any]):
    """An object of :func:`_duplicate_key_at`'s parse that names ``key`` twice."""

    key: str = ""


def _marking(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    marked = _Twice(obj)
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            marked.key = key
            break
        seen.add(key)
    return marked


def _duplicate_key_at(text: str, max_depth: int) -> str | None:
    """Where the first object (in document order) that names a key twice has it, as
    FHIRPath (``Bundle.entry[0].resource.active``); None when a name on the way there is
    not a FHIR element name. It parses the body again: only for one refused anyway."""
    try:
        root = json.loads(text, object_pairs_hook=_marking)
    except (ValueError, RecursionError):
        return None
    kind = root.get("resourceType") if isinstance(root, dict) else None
    named = isinstance(kind, str) and _TYPE_NAME.fullmatch(kind) is not None
    if isinstance(root, _Twice) and root.key == "resourceType":  # then which type is it?
        named = False
    # (value, its FHIRPath or None when it cannot be named, its level)
    stack: list[tuple[Any, str | None, int]] = [(root, str(kind) if named else None, 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, _Twice):
            if path is None or not ELEMENT_NAME.fullmatch(value.key):
                return None
            return f"{path}.{value.key}"
        if depth >= max_depth:  # refused as too deep anyway; a shorter path is found first
            continue
        if isinstance(value, dict):
            for key, child in reversed(value.items()):
                inner = f"{path}.{key}" if path and ELEMENT_NAME.fullmatch(key) else None
                stack.append((child, inner, depth + 1))
        elif isinstance(value, list):
            for index in range(len(value) - 1, -1, -1):
                stack.append((value[index], f"{path}[{index}]" if path else None, depth + 1))
    return None


def _duplicate_key(text: str, max_depth: int) -> FhirError:
    where = _duplicate_key_at(text, max_depth)
    return FhirError.single(
        400,
        "structure",
        "Meddelandet innehåller samma fält två gånger på samma ställe. Varje fält får bara"
        " finnas en gång, annars är det oklart vilket värde som gäller.",
        expression=where,
        diagnostics="a JSON object has the same key twice"
        + (f" (at {where})" if where else "")
        + "; each key may occur once per object",
    )


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
    text = ""
    try:
        text = raw.decode("utf-8")
        parsed = _DECODER.decode(text)
    except UnicodeDecodeError:
        raise FhirError.single(
            400, "invalid", "Meddelandet är inte UTF-8-kodat.", diagnostics="body is not UTF-8"
        ) from None
    except _DuplicateKeyError:
        raise _duplicate_key(text, max_depth) from None
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
