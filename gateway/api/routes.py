"""The FHIR REST surface at /fhir: each route turns HTTP into one call on FhirInteractions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from gateway.api.app_state import interactions_for, settings_of
from gateway.api.body import read_limited, read_resource_body
from gateway.api.bundle_pages import history, searchset
from gateway.api.bundle_processing import BundleProcessor, resolve_references
from gateway.api.capability import capability_statement
from gateway.api.headers import (
    Preferences,
    if_match_of,
    location,
    none_match,
    preferences,
    version_headers,
)
from gateway.api.interactions import FhirInteractions, WriteResult
from gateway.api.media import FhirResponse, response_media_type
from gateway.api.outcome import information
from gateway.api.submission import is_kommun_submission, submit_transaction
from gateway.errors import FhirError
from gateway.search.dates import date_range
from gateway.search.query import small_number
from gateway.security.audit import AuditLog, AuditTrail, audited_transaction
from gateway.security.caller import Caller, current_caller
from gateway.store.resources import StoredResource

router = APIRouter(prefix="/fhir", tags=["FHIR"])


def _session(request: Request) -> Iterator[Session]:
    """One database transaction per request of an authenticated caller, committed if the
    route returns normally.

    The caller is authenticated here (``current_caller``), not by a dependency of its own:
    FastAPI runs every plain-function dependency in its thread pool, a hand-over each.
    The request's audit events are written in the same transaction; if the request fails,
    they are written as failures in a transaction of their own after the rollback.
    """
    trail = AuditTrail(current_caller(request))
    response_media_type(request)  # refuse unacceptable formats before doing any work
    request.state.audit_trail = trail
    factory = request.app.state.session_factory
    audit: AuditLog = request.app.state.audit
    with audited_transaction(factory, audit, trail) as session:
        yield session


# scope="function": the transaction commits when the route returns, before the response
# is sent, so a client never sees a success that was not stored.
Transaction = Annotated[Session, Depends(_session, scope="function")]


def caller_of(request: Request) -> Caller:
    """Who is calling, once a :data:`Transaction` dependency has authenticated them."""
    caller: Caller = request.state.caller
    return caller


async def _interactions(request: Request, session: Transaction) -> FhirInteractions:
    # async: it only builds objects, so it runs in the event loop, not the thread pool.
    trail: AuditTrail = request.state.audit_trail
    return interactions_for(request, session, caller_of(request), trail)


Fhir = Annotated[FhirInteractions, Depends(_interactions, scope="function")]


def _resource_response(
    request: Request, stored: StoredResource, status: int = 200, extra: dict[str, str] | None = None
) -> Response:
    return FhirResponse(
        stored.body,
        status_code=status,
        headers={**version_headers(stored), **(extra or {})},
        request=request,
    )


# _summary and _elements of a read: the whole resource is answered, as FHIR lets a server
# do, but a value that neither takes is 400, not ignored. (count is for a search.)
_READ_SUMMARIES = frozenset({"true", "text", "data", "false"})
_ELEMENT_NAMES = re.compile(r"[a-z][A-Za-z0-9]{0,63}(?:,[a-z][A-Za-z0-9]{0,63})*")


def _check_read_parameters(request: Request) -> None:
    query = request.query_params
    if any(value not in _READ_SUMMARIES for value in query.getlist("_summary")):
        raise FhirError.single(
            400,
            "invalid",
            "Parametern _summary tar värdet true, text, data eller false när en resurs läses.",
            diagnostics="_summary of a read takes true, text, data or false",
        )
    if any(not _ELEMENT_NAMES.fullmatch(value) for value in query.getlist("_elements")):
        raise FhirError.single(
            400,
            "invalid",
            "Parametern _elements ska vara en lista med elementnamn, till exempel identifier,name.",
            diagnostics="_elements takes comma-separated element names",
        )


def _conditional_response(request: Request, stored: StoredResource) -> Response:
    """A read's answer: 304 with no body when If-None-Match names ``stored``'s version
    (or is ``*``), else the resource."""
    if none_match(request.headers.getlist("if-none-match"), stored.etag):
        return Response(status_code=304, headers=version_headers(stored))
    return _resource_response(request, stored)


def _write_response(request: Request, result: WriteResult, prefs: Preferences) -> Response:
    headers = version_headers(result.stored)
    headers["Location"] = location(settings_of(request).fhir_base_url, result.stored)
    if prefs.return_ == "minimal":
        return Response(status_code=result.status, headers=headers)
    if prefs.return_ == "OperationOutcome":
        text = "Resursen skapades." if result.created else "Resursen sparades."
        return FhirResponse(
            information(text), status_code=result.status, headers=headers, request=request
        )
    return FhirResponse(
        result.stored.body, status_code=result.status, headers=headers, request=request
    )


async def _body(request: Request) -> dict[str, Any]:
    """The request's resource. Read here, in the event loop, so the routes can be plain
    functions that FastAPI runs in its thread pool: database work never blocks the loop."""
    settings = settings_of(request)
    return await read_resource_body(
        request, max_bytes=settings.max_body_bytes, max_depth=settings.max_json_depth
    )


async def _form_items(request: Request) -> list[tuple[str, str]]:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise FhirError.single(
            415,
            "not-supported",
            "Sökning med POST ska skickas som formulärdata.",
            diagnostics="POST _search takes application/x-www-form-urlencoded",
        )
    raw = await read_limited(request, settings_of(request).max_body_bytes)
    return parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)


Body = Annotated[dict[str, Any], Depends(_body)]

# The body is read by hand (size and depth limits first), so OpenAPI is told about it here.
RESOURCE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/fhir+json": {"schema": {"type": "object", "required": ["resourceType"]}}
        },
    }
}
FormItems = Annotated[list[tuple[str, str]], Depends(_form_items)]


# What a history takes besides the response format; see _history_query.
_HISTORY_PARAMETERS = frozenset({"_since", "_count", "_offset", "_format", "_pretty"})


def _history_query(request: Request) -> tuple[datetime | None, int, int]:
    """``_since``, ``_count`` and ``_offset`` of a history. Any other parameter (``_at``,
    ``_sort``, a misspelt one) is 400 as in a search, since ignoring it would answer
    more than was asked; with ``Prefer: handling=lenient`` it is ignored."""
    unknown = sorted({key for key in request.query_params if key not in _HISTORY_PARAMETERS})
    if unknown and not preferences(request).lenient:
        raise FhirError.single(
            400,
            "invalid",
            "Historiken tar bara parametrarna _since, _count och _offset.",
            diagnostics="unsupported history parameters: "
            + ", ".join(name[:32] for name in unknown[:5]),
        )
    count, offset = _paging(request)
    return _since(request.query_params.get("_since")), count, offset


def _since(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    parsed = date_range(raw)
    if parsed is None:
        raise FhirError.single(
            400,
            "invalid",
            "Parametern _since ska vara en tidpunkt, till exempel 2026-11-22T10:00:00Z.",
            diagnostics="_since must be a FHIR instant",
        )
    return parsed[0]


def _paging(request: Request) -> tuple[int, int]:
    settings = settings_of(request)
    raw_count = request.query_params.get("_count", str(settings.default_page_size))
    raw_offset = request.query_params.get("_offset", "0")
    count, offset = small_number(raw_count), small_number(raw_offset)
    if count is None or offset is None:
        raise FhirError.single(
            400,
            "invalid",
            "Parametrarna _count och _offset ska vara heltal.",
            diagnostics="_count and _offset must be non-negative integers",
        )
    return min(count, settings.max_page_size), offset


# HEAD: a read (of a resource, a version, a history, a search's page or the metadata)
# answered as GET, with the same checks, audit and headers (Content-Length too); the
# server (uvicorn) sends no body. Not in the OpenAPI document: it would repeat
# the GET operation under the same operationId.
@router.head("/metadata", include_in_schema=False)
@router.get("/metadata", summary="CapabilityStatement")
def metadata(request: Request) -> Response:
    response_media_type(request)
    body = capability_statement(settings_of(request), request.app.state.started_at)
    return FhirResponse(body, request=request)


@router.post("", summary="Batch or transaction Bundle", openapi_extra=RESOURCE_BODY)
def batch_or_transaction(request: Request, fhir: Fhir, bundle: Body) -> Response:
    settings = settings_of(request)
    if is_kommun_submission(bundle, fhir.caller):  # a request, not a plain store
        answer = submit_transaction(request, fhir, bundle, settings.fhir_base_url)
        return FhirResponse(answer, request=request)
    processor = BundleProcessor(
        fhir,
        fhir.store.session,
        settings.fhir_base_url,
        preferences(request),
        settings.max_bundle_entries,
    )
    return FhirResponse(processor.process(bundle), request=request)


# Before the read route: HEAD /Patient/_history is the type's history, not a read of a
# Patient with the id "_history".
@router.head("/{resource_type}/_history", include_in_schema=False)
@router.get("/{resource_type}/_history", summary="Type history")
def type_history(request: Request, resource_type: str, fhir: Fhir) -> Response:
    return _history_response(request, resource_type, None, fhir)


def _history_response(
    request: Request, resource_type: str, res_id: str | None, fhir: Fhir
) -> Response:
    since, count, offset = _history_query(request)
    versions, total, more = fhir.history(
        resource_type, res_id, since=since, count=count, offset=offset
    )
    bundle = history(
        settings_of(request).fhir_base_url,
        resource_type if res_id is None else f"{resource_type}/{res_id}",
        versions,
        total,
        count,
        offset,
        request.query_params.get("_since"),
        more=more,
    )
    return FhirResponse(bundle, request=request)


# HEAD /fhir/_history lands here too, and is answered as its GET is (no such type).
@router.head("/{resource_type}", include_in_schema=False)
@router.get("/{resource_type}", summary="Search")
def search(request: Request, resource_type: str, fhir: Fhir) -> Response:
    items = [(k, v) for k, v in request.query_params.multi_items()]
    return _search(request, resource_type, fhir, items)


@router.post("/{resource_type}/_search", summary="Search by form post")
def search_post(request: Request, resource_type: str, fhir: Fhir, form: FormItems) -> Response:
    return _search(request, resource_type, fhir, list(request.query_params.multi_items()) + form)


def _search(
    request: Request, resource_type: str, fhir: Fhir, items: list[tuple[str, str]]
) -> Response:
    prefs = preferences(request)
    bundle = searchset(
        settings_of(request).fhir_base_url,
        *fhir.search(resource_type, items, lenient=prefs.lenient),
    )
    return FhirResponse(bundle, request=request)


@router.post("/{resource_type}", summary="Create", status_code=201, openapi_extra=RESOURCE_BODY)
def create(request: Request, resource_type: str, fhir: Fhir, body: Body) -> Response:
    resolve_references(fhir, body, resource_type)
    result = fhir.create(resource_type, body, if_none_exist=request.headers.get("if-none-exist"))
    return _write_response(request, result, preferences(request))


@router.head("/{resource_type}/{res_id}", include_in_schema=False)
@router.get("/{resource_type}/{res_id}", summary="Read")
def read(request: Request, resource_type: str, res_id: str, fhir: Fhir) -> Response:
    _check_read_parameters(request)
    return _conditional_response(request, fhir.read(resource_type, res_id))


@router.put("/{resource_type}/{res_id}", summary="Update", openapi_extra=RESOURCE_BODY)
def update(request: Request, resource_type: str, res_id: str, fhir: Fhir, body: Body) -> Response:
    resolve_references(fhir, body, resource_type)
    condition = if_match_of(request.headers.get("if-match"))
    result = fhir.update(resource_type, res_id, body, if_match=condition)
    return _write_response(request, result, preferences(request))


@router.delete("/{resource_type}/{res_id}", summary="Delete")
def delete(request: Request, resource_type: str, res_id: str, fhir: Fhir) -> Response:
    stored = fhir.delete(
        resource_type, res_id, if_match=if_match_of(request.headers.get("if-match"))
    )
    # A resource deleted before stays deleted: 204 again, with no new version to name.
    return Response(status_code=204, headers={"ETag": stored.etag} if stored else {})


@router.head("/{resource_type}/{res_id}/_history", include_in_schema=False)
@router.get("/{resource_type}/{res_id}/_history", summary="Instance history")
def instance_history(request: Request, resource_type: str, res_id: str, fhir: Fhir) -> Response:
    return _history_response(request, resource_type, res_id, fhir)


@router.head("/{resource_type}/{res_id}/_history/{version}", include_in_schema=False)
@router.get("/{resource_type}/{res_id}/_history/{version}", summary="Version read")
def vread(request: Request, resource_type: str, res_id: str, version: str, fhir: Fhir) -> Response:
    _check_read_parameters(request)
    return _conditional_response(request, fhir.vread(resource_type, res_id, version))
