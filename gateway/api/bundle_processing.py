"""Batch and transaction Bundles on ``POST /fhir``.

A transaction is all-or-nothing: the caller's database transaction wraps every entry, and
the first failure rolls all of them back. Entries run in the order FHIR prescribes
(DELETE, POST, PUT, GET); ``urn:uuid:`` fullUrls and conditional references
(``Patient?identifier=...``) are resolved before anything is written. A batch runs each
entry in its own savepoint and reports each outcome separately.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy.orm import Session

from gateway.api.body import repeating
from gateway.api.bundle_pages import searchset
from gateway.api.headers import Preferences, if_match_of, location
from gateway.api.interactions import RESOURCE_ID, FhirInteractions, WriteResult
from gateway.api.outcome import operation_outcome
from gateway.errors import FhirError, Issue
from gateway.resources.references import walk_references
from gateway.store.resources import StoredResource, new_id

_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "GET": 3}
_STATUS_TEXT = {200: "200 OK", 201: "201 Created", 204: "204 No Content"}


@dataclass
class _Entry:
    index: int
    method: str
    url: str
    resource: dict[str, Any] | None
    full_url: str | None
    if_none_exist: str | None
    if_match: str | None
    assigned_id: str | None = None
    existing: StoredResource | None = None
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"Bundle.entry[{self.index}]"


def _bad_entry(where: str, text_sv: str, diagnostics: str) -> FhirError:
    return FhirError.single(400, "invalid", text_sv, expression=where, diagnostics=diagnostics)


def checked_full_url(raw: dict[str, Any], where: str, earlier: list[str | None]) -> str | None:
    """An entry's fullUrl, if any: a text, and not one of the ``earlier`` entries' (the
    references between entries would name two resources at once); else 400 at it."""
    full_url = raw.get("fullUrl")
    if full_url is not None and not isinstance(full_url, str):
        raise _bad_entry(
            f"{where}.fullUrl", "Postens fullUrl ska vara en text.", "fullUrl must be a string"
        )
    if full_url and full_url in earlier:
        raise _bad_entry(
            f"{where}.fullUrl",
            "Två poster har samma fullUrl. Varje post ska ha en egen.",
            "fullUrl must be unique in the Bundle",
        )
    return full_url


def _check_relative(url: str, where: str) -> None:
    """An entry's request url is relative to the base: ``Type``, ``Type/id``, ``Type?query``
    and so on. A scheme, host or fragment is 400: the url would name another server's
    resource, or one other than the entry acts on."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or "#" in url:
        raise _bad_entry(
            where,
            "Postens url ska vara en adress i den här tjänsten, till exempel Patient/123, "
            "utan http://, värdnamn eller #.",
            "request.url must be relative to the base, without scheme, host or fragment",
        )


def _parse_entries(bundle: dict[str, Any], max_entries: int) -> tuple[str, list[_Entry]]:
    if bundle.get("resourceType") != "Bundle":
        raise FhirError.single(
            400,
            "invalid",
            "Meddelandet till FHIR-basen ska vara en Bundle av typen batch eller transaction.",
            expression="resourceType",
            diagnostics="POST to the base takes a Bundle",
        )
    kind = bundle.get("type")
    if kind not in ("batch", "transaction"):
        raise FhirError.single(
            400,
            "invalid",
            "Bundle.type ska vara batch eller transaction.",
            expression="Bundle.type",
            diagnostics="only batch and transaction Bundles are processed",
        )
    raw_entries = repeating(bundle, "entry", "Bundle.entry")
    if len(raw_entries) > max_entries:
        raise FhirError.single(
            413,
            "too-costly",
            f"Bundlen har för många poster (högst {max_entries}).",
            expression="Bundle.entry",
            diagnostics=f"at most {max_entries} entries per Bundle",
        )
    entries: list[_Entry] = []
    for index, raw in enumerate(raw_entries):
        where = f"Bundle.entry[{index}]"
        request = raw.get("request") if isinstance(raw, dict) else None
        if not isinstance(request, dict):
            raise _bad_entry(
                f"{where}.request", "Posten saknar request.", "every entry needs request"
            )
        method, url = request.get("method"), request.get("url")
        if (
            not isinstance(method, str)
            or method not in _ORDER
            or not isinstance(url, str)
            or not url
        ):
            raise _bad_entry(
                f"{where}.request",
                "Postens request ska ha metod GET, POST, PUT eller DELETE och en url.",
                "request.method must be GET, POST, PUT or DELETE and request.url is required",
            )
        _check_relative(url, f"{where}.request.url")
        full_url = checked_full_url(raw, where, [entry.full_url for entry in entries])
        for element in ("ifNoneExist", "ifMatch"):
            if request.get(element) is not None and not isinstance(request[element], str):
                raise _bad_entry(
                    f"{where}.request.{element}",
                    f"Postens request.{element} ska vara en text.",
                    f"request.{element} must be a string",
                )
        resource = raw.get("resource")
        if method in ("POST", "PUT") and not isinstance(resource, dict):
            raise _bad_entry(
                f"{where}.resource", "Posten saknar resurs.", f"{method} entries need a resource"
            )
        entries.append(
            _Entry(
                index=index,
                method=method,
                url=url.lstrip("/"),
                # What a GET or DELETE carries is no resource of the transaction.
                resource=resource if method in ("POST", "PUT") else None,
                full_url=full_url,
                if_none_exist=request.get("ifNoneExist"),
                if_match=if_match_of(request.get("ifMatch"), f"{where}.request.ifMatch"),
            )
        )
    return kind, entries


def entry_response(base_url: str, stored: StoredResource, status: int) -> dict[str, Any]:
    """A transaction-response entry's ``response`` for a stored resource."""
    return {
        "status": _STATUS_TEXT[status],
        "location": location(base_url, stored),
        "etag": stored.etag,
        "lastModified": stored.last_updated.isoformat().replace("+00:00", "Z"),
    }


def _within_entry(issue: Issue, entry: _Entry) -> Issue:
    if not issue.expression:
        return issue.at(entry.where)
    resource_type = (entry.resource or {}).get("resourceType")
    moved: list[str] = []
    for expression in issue.expression:
        head, _, rest = expression.partition(".")
        if expression.startswith("Bundle."):
            moved.append(expression)
        elif resource_type and head == resource_type:
            moved.append(f"{entry.where}.resource" + (f".{rest}" if rest else ""))
        else:
            moved.append(f"{entry.where}.{expression}")
    return Issue(issue.code, issue.text_sv, issue.severity, tuple(moved), issue.diagnostics)


_NO_TARGETS: Mapping[str, str] = {}


def resolve_references(
    fhir: FhirInteractions,
    resource: dict[str, Any],
    root: str,
    targets: Mapping[str, str] = _NO_TARGETS,
) -> None:
    """Rewrite the references of ``resource`` (``root`` names it in error paths): a fullUrl
    of the same transaction becomes the resource it stands for (``targets``), and a
    conditional reference (``Patient?identifier=…``) the one resource it matches, 404 when
    none; a ``urn:uuid:`` or ``urn:oid:`` that stands for nothing is a 400."""

    def visit(holder: dict[str, Any], path: str) -> None:
        reference: str = holder["reference"]
        if reference in targets:
            holder["reference"] = targets[reference]
        elif reference.startswith("urn:uuid:") or reference.startswith("urn:oid:"):
            raise FhirError.single(
                400,
                "invalid",
                "Referensen pekar inte på någon post. En urn-referens kan bara peka på en "
                "annan post i samma transaktion.",
                expression=f"{path}.reference",
                diagnostics="unresolved urn reference",
            )
        elif "?" in reference and not reference.startswith("#"):
            holder["reference"] = _resolve_conditional(fhir, reference, path).reference

    walk_references(resource, root, visit)


def _resolve_conditional(fhir: FhirInteractions, reference: str, where: str) -> StoredResource:
    resource_type, _, criteria = reference.partition("?")
    try:
        found = fhir.find_one_for_condition(resource_type, criteria)
    except FhirError as error:
        raise FhirError(error.status, [i.at(f"{where}.reference") for i in error.issues]) from None
    if found is None:
        raise FhirError.single(
            404,
            "not-found",
            "Den villkorliga referensen matchar ingen resurs.",
            expression=f"{where}.reference",
            diagnostics="conditional reference matched nothing",
        )
    return found


class BundleProcessor:
    def __init__(
        self,
        interactions: FhirInteractions,
        session: Session,
        base_url: str,
        prefs: Preferences,
        max_entries: int,
    ) -> None:
        self.fhir = interactions
        self.session = session
        self.base_url = base_url
        self.prefs = prefs
        self.max_entries = max_entries

    def process(self, bundle: dict[str, Any]) -> dict[str, Any]:
        kind, entries = _parse_entries(bundle, self.max_entries)
        if kind == "transaction":
            self._transaction(entries)
        else:
            self._batch(entries)
        return {
            "resourceType": "Bundle",
            "id": new_id(),
            "type": f"{kind}-response",
            "entry": [e.response for e in entries],
        }

    # ----- transaction ------------------------------------------------------------------

    def _transaction(self, entries: list[_Entry]) -> None:
        targets = self._assign_targets(entries)
        self.fhir.expect_new(targets.values())
        current: _Entry | None = None  # the entry at work, which a failure is placed at
        try:
            for current in entries:
                if current.resource is not None:
                    self._rewrite_references(current, targets)
            for current in sorted(entries, key=lambda e: _ORDER[e.method]):
                current.response = self._run(current)
        except FhirError as error:
            raise FhirError(error.status, self._locate(error, current), error.headers) from None

    def _locate(self, error: FhirError, entry: _Entry | None) -> list[Issue]:
        """Place the issues of one entry under ``Bundle.entry[i]`` (its resource when they name one)."""
        if entry is None:
            return error.issues
        return [_within_entry(issue, entry) for issue in error.issues]

    def _assign_targets(self, entries: list[_Entry]) -> dict[str, str]:
        """fullUrl -> ``Type/id`` for every entry that creates or updates a resource: a
        POST's new (or, with ifNoneExist, found) resource, and a PUT's ``Type/id`` url when
        its resource is of that type. These are what the other entries may name without
        the reference check (``FhirInteractions.expect_new``); a PUT that then fails, or
        may not change what its url names, rolls the whole transaction back."""
        targets: dict[str, str] = {}
        for entry in entries:
            if entry.resource is None:
                continue
            resource_type = str(entry.resource.get("resourceType", ""))
            if entry.method == "PUT":
                target = entry.url
                path_type, _, res_id = target.partition("/")
                if path_type != resource_type or not RESOURCE_ID.fullmatch(res_id):
                    continue  # a conditional or malformed url: refused when it runs
            else:
                if entry.if_none_exist:
                    try:
                        entry.existing = self.fhir.match_for_create(
                            resource_type, entry.if_none_exist
                        )
                    except FhirError as error:
                        raise FhirError(error.status, self._locate(error, entry)) from None
                entry.assigned_id = entry.existing.id if entry.existing else new_id()
                target = f"{resource_type}/{entry.assigned_id}"
            if entry.full_url:
                targets[entry.full_url] = target
        return targets

    def _rewrite_references(self, entry: _Entry, targets: Mapping[str, str]) -> None:
        assert entry.resource is not None
        resolve_references(self.fhir, entry.resource, f"{entry.where}.resource", targets)

    # ----- batch ------------------------------------------------------------------------

    def _batch(self, entries: list[_Entry]) -> None:
        for entry in sorted(entries, key=lambda e: _ORDER[e.method]):
            savepoint = self.session.begin_nested()
            try:
                if entry.resource is not None:
                    # Conditional references resolve as in a transaction; entries of a
                    # batch stand alone, so a urn:uuid names nothing.
                    self._rewrite_references(entry, _NO_TARGETS)
                entry.response = self._run(entry)
                savepoint.commit()
            except FhirError as error:
                savepoint.rollback()
                self.fhir.trail.fail_pending(error.status)
                entry.response = {
                    "response": {
                        "status": str(error.status),
                        "outcome": operation_outcome(self._locate(error, entry)),
                    }
                }

    # ----- one entry --------------------------------------------------------------------

    def _run(self, entry: _Entry) -> dict[str, Any]:
        path, _, query = entry.url.partition("?")
        parts = [p for p in urlsplit(path).path.split("/") if p]
        if entry.method == "POST":
            if len(parts) != 1 or entry.resource is None:
                raise _bad_entry(
                    f"{entry.where}.request.url", "Fel url för POST.", "POST url is a type"
                )
            if entry.existing is not None:
                return self._write_response(WriteResult(200, entry.existing, created=False))
            result = self.fhir.create(
                parts[0],
                entry.resource,
                # A transaction resolved the condition already and chose the id.
                if_none_exist=None if entry.assigned_id else entry.if_none_exist,
                res_id=entry.assigned_id,
            )
            return self._write_response(result)
        if entry.method == "PUT":
            if len(parts) != 2 or entry.resource is None:
                raise _bad_entry(
                    f"{entry.where}.request.url", "Fel url för PUT.", "PUT url is Type/id"
                )
            result = self.fhir.update(parts[0], parts[1], entry.resource, if_match=entry.if_match)
            return self._write_response(result)
        if entry.method == "DELETE":
            if len(parts) != 2:
                raise _bad_entry(
                    f"{entry.where}.request.url", "Fel url för DELETE.", "DELETE url is Type/id"
                )
            self.fhir.delete(parts[0], parts[1], if_match=entry.if_match)
            return {"response": {"status": "204 No Content"}}
        return self._get(entry, parts, query)

    def _get(self, entry: _Entry, parts: list[str], query: str) -> dict[str, Any]:
        if len(parts) == 1:
            items = parse_qsl(query, keep_blank_values=True)
            bundle = searchset(
                self.base_url, *self.fhir.search(parts[0], items, lenient=self.prefs.lenient)
            )
            return {"resource": bundle, "response": {"status": "200 OK"}}
        if len(parts) == 2:
            stored = self.fhir.read(parts[0], parts[1])
        elif len(parts) == 4 and parts[2] == "_history":
            stored = self.fhir.vread(parts[0], parts[1], parts[3])
        else:
            raise _bad_entry(
                f"{entry.where}.request.url", "Fel url för GET.", "unsupported GET url"
            )
        return {"resource": stored.body, "response": self._response_meta(stored, 200)}

    def _response_meta(self, stored: StoredResource, status: int) -> dict[str, Any]:
        return entry_response(self.base_url, stored, status)

    def _write_response(self, result: WriteResult) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "fullUrl": f"{self.base_url}/{result.stored.reference}",
            "response": self._response_meta(result.stored, result.status),
        }
        if self.prefs.return_ == "representation":
            entry["resource"] = result.stored.body
        elif self.prefs.return_ == "OperationOutcome":
            entry["response"]["outcome"] = operation_outcome([])
        return entry
