"""Searchset and history Bundles, with self/next/previous links for paging."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from gateway.api.outcome import operation_outcome
from gateway.errors import Issue, Severity
from gateway.search.query import SearchQuery
from gateway.store.resources import StoredResource, utc_now


def _bundle(kind: str, total: int | None, links: list[dict[str, str]]) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": utc_now().isoformat().replace("+00:00", "Z")},
        "type": kind,
    }
    if total is not None:
        bundle["total"] = total
    bundle["link"] = links
    bundle["entry"] = []
    return bundle


def searchset(
    base_url: str,
    query: SearchQuery,
    found: list[StoredResource],
    total: int | None,
    withheld: Sequence[Issue] = (),
    more: bool | None = None,
) -> dict[str, Any]:
    """A page of matches. ``total`` counts only what the caller may see (None: left
    out); a page with matches ``withheld`` by the read checks says so in an
    OperationOutcome entry of its own. ``more``: whether a next page follows (by default,
    when the page is full and ``total`` does not say it is the last)."""
    url = f"{base_url}/{query.resource_type}"
    links = [{"relation": "self", "url": f"{url}?{query.link_params()}"}]
    if more is None:
        full = len(found) == query.count
        more = full and (total is None or query.offset + query.count < total)
    if more and query.count > 0:
        links.append(
            {
                "relation": "next",
                "url": f"{url}?{query.link_params(offset=query.offset + query.count)}",
            }
        )
    if query.offset > 0:
        previous = max(0, query.offset - query.count)
        links.append({"relation": "previous", "url": f"{url}?{query.link_params(offset=previous)}"})
    bundle = _bundle("searchset", total, links)
    for stored in found:
        bundle["entry"].append(
            {
                "fullUrl": f"{base_url}/{stored.resource_type}/{stored.id}",
                "resource": stored.body,
                "search": {"mode": "match"},
            }
        )
    warnings = list(dict.fromkeys(withheld))
    if query.ignored:
        warnings.append(
            Issue(
                "not-supported",
                "Några sökparametrar är okända och användes inte.",
                Severity.WARNING,
                diagnostics="ignored: " + ", ".join(query.ignored),
            )
        )
    if warnings:
        bundle["entry"].append(
            {"resource": operation_outcome(warnings), "search": {"mode": "outcome"}}
        )
    return bundle


_METHOD_STATUS = {"POST": "201 Created", "PUT": "200 OK", "DELETE": "204 No Content"}


def history(
    base_url: str,
    path: str,
    versions: list[StoredResource],
    total: int | None,
    count: int,
    offset: int,
    since: str | None = None,
    *,
    more: bool | None = None,
) -> dict[str, Any]:
    """A page of versions; its links keep ``_since`` (as the caller wrote it). ``total``
    as for :func:`searchset`; ``more``: whether a next page follows (by default, when
    ``total`` says so)."""
    url = f"{base_url}/{path}/_history"
    kept = f"&{urlencode({'_since': since})}" if since is not None else ""
    links = [{"relation": "self", "url": f"{url}?_count={count}&_offset={offset}{kept}"}]
    if more is None:
        more = total is not None and offset + count < total
    if more:
        links.append(
            {"relation": "next", "url": f"{url}?_count={count}&_offset={offset + count}{kept}"}
        )
    bundle = _bundle("history", total, links)
    for stored in versions:
        entry: dict[str, Any] = {"fullUrl": f"{base_url}/{stored.resource_type}/{stored.id}"}
        if stored.body is not None:
            entry["resource"] = stored.body
        request_url = (
            stored.resource_type
            if stored.method == "POST"
            else (f"{stored.resource_type}/{stored.id}")
        )
        entry["request"] = {"method": stored.method, "url": request_url}
        entry["response"] = {
            "status": _METHOD_STATUS[stored.method],
            "etag": stored.etag,
            "lastModified": stored.last_updated.isoformat().replace("+00:00", "Z"),
        }
        bundle["entry"].append(entry)
    return bundle
