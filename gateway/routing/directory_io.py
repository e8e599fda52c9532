"""Directory import and export: a FHIR Bundle (lossless) or a flat CSV (the columns below).

Import is an upsert by resource id through the normal versioned store, in one transaction:
a resource that is unchanged stays at its version, a changed one gets a new version, a new
one is created with the given id. Every resource is checked first, as the FHIR API checks
a write of it (the app's validator: structure, profiles and code bindings, Swedish
identifiers; ids as the API takes them; an Endpoint's connection type and address as
:func:`gateway.routing.directory_hooks.endpoint_problem` wants them), and the file as a
whole against the directory's own rules:

- an active Organization's HSA-id is no other active Organization's, in the file or in the
  directory (the rule of :class:`gateway.routing.directory_hooks.UniqueHsaIdHook`); an
  inactive one may share it;
- ``partOf`` and ``managingOrganization`` are ``Organization/<id>`` of an Organization in
  the file or in the directory, and ``partOf`` never leads back to where it started;
- a resource appears once in the file.

Everything is checked before the first write: one bad entry stops the whole import and
is named (by its CSV line or Bundle entry index while the file is read, then as
``Type/id``), never by its content. A Bundle is read as the FHIR API reads a body
(:func:`gateway.api.body.parse_json_object`: no key twice in an object, bounded nesting).

CSV columns (UTF-8, header row, one resource per row, each row with as many fields as
the header)::

    resource_type,id,active,name,hsa_id,kommunkod,lanskod,org_type,part_of,
    connection_type,address,managing_organization,status

Organization rows use ``active … part_of`` (``active``: ``true``, ``false`` or empty for
true); Endpoint rows use ``name``, ``connection_type`` (fhir-rest, rivta, inbox),
``address``, ``managing_organization`` (an Organization id) and ``status``. The CSV
carries only these fields, so importing a CSV row over an existing resource changes only
them and keeps everything else (telecom, address, other identifiers …); the Bundle carries
and replaces whole resources.

Spreadsheet formulas (CSV injection): the export puts a single quote ``'`` in front of a
cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, so that a
spreadsheet shows it as text and never runs it. A cell that begins with one or more
quotes followed by one of these characters gets one more quote as well, and the import
takes exactly one quote off a cell that begins with one or more quotes followed by one of
these characters. So an exported file imports to the same values, and a cell written
without such a quote is read as it is.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from gateway.api.body import parse_json_object
from gateway.api.interactions import check_id
from gateway.errors import FhirError
from gateway.routing import events
from gateway.routing.directory import CONNECTION_TYPE_SYSTEM, ORG_TYPE_SYSTEM, units_with_hsa_id
from gateway.routing.directory_hooks import endpoint_problem, routed_hsa_ids
from gateway.search.query import parse_search
from gateway.settings import Environment
from gateway.store.resources import ResourceStore, StoredResource
from gateway.validation.identifiers import (
    SYSTEM_HSA_ID,
    SYSTEM_HSA_ID_RIVTA,
    SYSTEM_KOMMUNKOD,
    SYSTEM_LANSKOD,
    check_hsa_id,
)
from gateway.validation.pipeline import ValidationPipeline, is_blocking

DIRECTORY_TYPES = ("Organization", "Endpoint")
CSV_COLUMNS = (
    "resource_type",
    "id",
    "active",
    "name",
    "hsa_id",
    "kommunkod",
    "lanskod",
    "org_type",
    "part_of",
    "connection_type",
    "address",
    "managing_organization",
    "status",
)
_ORG_TYPE_DISPLAY = {
    "region": "Region",
    "kommun-socialtjanst": "Kommunens socialtjänst",
    "vardcentral": "Vårdcentral",
}


class DirectoryImportError(ValueError):
    """Names the entry and the problem; never repeats the entry's content."""


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


# ----- reading ----------------------------------------------------------------------------

# What the FHIR API allows a body by default (``Settings.max_json_depth``).
DEFAULT_MAX_DEPTH = 64

# A cell a spreadsheet would read as a formula, and one the export has quoted (see the
# module docstring).
_FORMULA_OR_QUOTED = re.compile(r"'*[=+\-@\t\r]")
_QUOTED_BY_EXPORT = re.compile(r"'+[=+\-@\t\r]")
_ID_RULE = "ids are 1-64 characters of A-Z, a-z, 0-9, '-' and '.'"


def neutralise_cell(value: str) -> str:
    """A cell as the CSV export writes it: never one a spreadsheet runs as a formula."""
    return "'" + value if _FORMULA_OR_QUOTED.match(value) else value


def restore_cell(value: str) -> str:
    """A cell as the CSV import reads it: exactly what :func:`neutralise_cell` added, off."""
    return value[1:] if _QUOTED_BY_EXPORT.match(value) else value


def _reasons(error: FhirError) -> str:
    """What stops a write, as one line: diagnostics and where, never a value."""
    issues = [i for i in error.issues if is_blocking(i)] or error.issues
    reasons = []
    for issue in issues:
        reason = issue.diagnostics or issue.text_sv
        where = ", ".join(e for e in issue.expression if e not in reason)
        reasons.append(f"{reason} ({where})" if where else reason)
    return "; ".join(reasons)


def _valid_id(resource_type: str, res_id: str) -> bool:
    try:
        check_id(resource_type, res_id)
    except FhirError:
        return False
    return True


def resources_from_bundle(data: bytes, max_depth: int = DEFAULT_MAX_DEPTH) -> list[dict[str, Any]]:
    raw = data.removeprefix(codecs.BOM_UTF8)
    if not raw.strip():
        raise DirectoryImportError("the file is empty")
    try:
        bundle = parse_json_object(raw, max_depth)
    except FhirError as error:
        raise DirectoryImportError(f"the file is not usable JSON: {_reasons(error)}") from None
    if bundle.get("resourceType") != "Bundle":
        raise DirectoryImportError("the file is not a FHIR Bundle")
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise DirectoryImportError("the Bundle's entry must be a list")
    found: list[dict[str, Any]] = []
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            raise DirectoryImportError(f"entry {index}: no resource")
        kind = resource.get("resourceType")
        if kind not in DIRECTORY_TYPES:
            raise DirectoryImportError(f"entry {index}: only Organization and Endpoint belong here")
        res_id = resource.get("id")
        if not isinstance(res_id, str):
            raise DirectoryImportError(f"entry {index}: the resource needs an id")
        if not _valid_id(str(kind), res_id):
            raise DirectoryImportError(f"entry {index}: not a valid id ({_ID_RULE})")
        found.append(resource)
    return found


def _identifier(system: str, value: str) -> dict[str, str]:
    return {"system": system, "value": value}


def _row_to_resource(row: dict[str, str], line: int) -> dict[str, Any]:
    kind, res_id = row["resource_type"], row["id"]
    if not res_id:
        raise DirectoryImportError(f"line {line}: id is empty")
    if kind not in DIRECTORY_TYPES:
        raise DirectoryImportError(f"line {line}: resource_type must be Organization or Endpoint")
    if not _valid_id(kind, res_id):
        raise DirectoryImportError(f"line {line}: id is not a valid id ({_ID_RULE})")
    if kind == "Organization":
        body: dict[str, Any] = {"resourceType": "Organization"}
        identifiers = []
        if row["hsa_id"]:
            identifiers.append(_identifier(SYSTEM_HSA_ID, row["hsa_id"]))
        if row["kommunkod"]:
            identifiers.append(_identifier(SYSTEM_KOMMUNKOD, row["kommunkod"]))
        if row["lanskod"]:
            identifiers.append(_identifier(SYSTEM_LANSKOD, row["lanskod"]))
        if identifiers:
            body["identifier"] = identifiers
        active = row["active"].strip().lower()
        if active not in ("", "true", "false"):
            raise DirectoryImportError(f"line {line}: active must be true, false or empty")
        body["active"] = active != "false"
        if row["org_type"]:
            code = row["org_type"]
            coding = {"system": ORG_TYPE_SYSTEM, "code": code}
            if code in _ORG_TYPE_DISPLAY:
                coding["display"] = _ORG_TYPE_DISPLAY[code]
            body["type"] = [{"coding": [coding]}]
        if row["name"]:
            body["name"] = row["name"]
        if row["part_of"]:
            body["partOf"] = {"reference": f"Organization/{row['part_of']}"}
    else:
        body = {
            "resourceType": "Endpoint",
            "status": row["status"] or "active",
            "connectionType": {
                "system": CONNECTION_TYPE_SYSTEM,
                "code": row["connection_type"],
            },
        }
        if row["name"]:
            body["name"] = row["name"]
        if row["managing_organization"]:
            body["managingOrganization"] = {
                "reference": f"Organization/{row['managing_organization']}"
            }
        body["payloadType"] = [{"text": "Begäran om medicinskt utlåtande (FHIR R4)"}]
        body["address"] = row["address"]
    body["id"] = res_id
    return body


def resources_from_csv(data: bytes) -> list[dict[str, Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DirectoryImportError("the file is not UTF-8") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    found: list[dict[str, Any]] = []
    try:
        header = next(reader, None)
        if header is None or sorted(header) != sorted(CSV_COLUMNS):
            raise DirectoryImportError(f"the CSV header must be {','.join(CSV_COLUMNS)}")
        for fields in reader:
            if not fields:
                continue  # an empty line
            if len(fields) != len(header):
                raise DirectoryImportError(
                    f"line {reader.line_num}: expected {len(header)} fields as in the header, "
                    f"got {len(fields)}"
                )
            row = dict(zip(header, map(restore_cell, fields), strict=True))
            found.append(_row_to_resource(row, reader.line_num))
    except csv.Error as error:  # a field over csv.field_size_limit(), say
        raise DirectoryImportError(f"line {reader.line_num}: not valid CSV ({error})") from None
    return found


def read_file(
    data: bytes, kind: str, *, max_depth: int = DEFAULT_MAX_DEPTH
) -> list[dict[str, Any]]:
    """The resources of a Bundle (``kind`` ``bundle``) or CSV file, each read and checked
    for what a file must be; the import checks them as resources."""
    if kind == "bundle":
        return resources_from_bundle(data, max_depth)
    return resources_from_csv(data)


# ----- importing --------------------------------------------------------------------------


def _comparable(body: dict[str, Any]) -> dict[str, Any]:
    clean = {k: v for k, v in body.items() if k not in ("id", "meta")}
    meta = body.get("meta")
    if isinstance(meta, dict):
        kept = {k: v for k, v in meta.items() if k not in ("versionId", "lastUpdated")}
        if kept:
            clean["meta"] = kept
    elif meta is not None:
        clean["meta"] = meta  # not an object: left for the validator to refuse
    return clean


_CSV_ORG_SYSTEMS = (SYSTEM_HSA_ID, SYSTEM_HSA_ID_RIVTA, SYSTEM_KOMMUNKOD, SYSTEM_LANSKOD)
_CSV_ENDPOINT_KEYS = ("name", "connectionType", "address", "managingOrganization", "status")


def _same_identifier(a: dict[str, Any], b: dict[str, Any]) -> bool:
    hsa = {SYSTEM_HSA_ID, SYSTEM_HSA_ID_RIVTA}
    if a.get("system") in hsa and b.get("system") in hsa:
        return bool(a.get("value") == b.get("value"))
    return bool(a.get("system") == b.get("system") and a.get("value") == b.get("value"))


def merge_csv(existing: dict[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
    """A CSV row sets only the fields it has columns for; everything else is kept."""
    merged = _comparable(existing)
    if incoming["resourceType"] == "Endpoint":
        for key in _CSV_ENDPOINT_KEYS:
            if key in incoming:
                merged[key] = incoming[key]
            else:
                merged.pop(key, None)
        return merged
    wanted = incoming.get("identifier") or []
    kept = [
        i
        for i in merged.get("identifier") or []
        if i.get("system") not in _CSV_ORG_SYSTEMS or any(_same_identifier(i, w) for w in wanted)
    ]
    kept += [w for w in wanted if not any(_same_identifier(w, k) for k in kept)]
    if kept:
        merged["identifier"] = kept
    else:
        merged.pop("identifier", None)
    for key in ("name", "partOf", "active"):
        if key in incoming:
            merged[key] = incoming[key]
        else:
            merged.pop(key, None)
    wanted_codes = {
        (c.get("system"), c.get("code")) for t in incoming.get("type") or [] for c in t["coding"]
    }
    have_codes = {
        (c.get("system"), c.get("code"))
        for t in merged.get("type") or []
        for c in t.get("coding") or []
        if c.get("system") == ORG_TYPE_SYSTEM
    }
    if wanted_codes != have_codes:
        if "type" in incoming:
            merged["type"] = incoming["type"]
        else:
            merged.pop("type", None)
    return merged


_ORGANIZATION_REFERENCE = re.compile(r"Organization/([A-Za-z0-9\-.]{1,64})")


@dataclass
class _Checked:
    """One resource of the file as it will be stored, checked on its own."""

    resource_type: str
    id: str
    body: dict[str, Any]
    current: StoredResource | None
    organization: str | None  # the Organization id that partOf/managingOrganization names

    @property
    def where(self) -> str:
        return f"{self.resource_type}/{self.id}"


def _organization_named(body: dict[str, Any], element: str) -> str | None:
    """The id in ``element``'s ``Organization/<id>`` reference; None when it has none.
    Only for a body the validator passed (``element`` is a Reference, if there)."""
    reference = (body.get(element) or {}).get("reference")
    if reference is None:
        return None
    match = _ORGANIZATION_REFERENCE.fullmatch(reference)
    if match is None:
        raise ValueError(element)
    return match.group(1)


def _check_each(
    store: ResourceStore,
    validator: ValidationPipeline,
    resources: list[dict[str, Any]],
    file_kind: str,
    environment: Environment,
) -> dict[tuple[str, str], _Checked]:
    """Every resource as it will be stored (a CSV row merged over the current version),
    validated as the FHIR API validates a write, in file order."""
    checked: dict[tuple[str, str], _Checked] = {}
    for number, resource in enumerate(resources, start=1):
        resource_type, res_id = resource["resourceType"], resource["id"]
        if not _valid_id(resource_type, res_id):
            raise DirectoryImportError(
                f"resource {number} of the file: not a valid id ({_ID_RULE})"
            )
        where = f"{resource_type}/{res_id}"
        if (resource_type, res_id) in checked:
            raise DirectoryImportError(f"{where}: appears twice in the file")
        current = store.current(resource_type, res_id)
        if file_kind == "csv" and current is not None and current.body is not None:
            body = merge_csv(current.body, resource)
        else:
            body = _comparable(resource)
        body["resourceType"] = resource_type
        try:
            validator.check({**body, "id": res_id})
        except FhirError as error:
            raise DirectoryImportError(f"{where}: {_reasons(error)}") from None
        problem = (
            endpoint_problem(body, environment=environment) if resource_type == "Endpoint" else None
        )
        if problem is not None:  # as the FHIR API's EndpointChecksHook refuses it
            raise DirectoryImportError(f"{where}: {problem.diagnostics} ({problem.expression})")
        element = "partOf" if resource_type == "Organization" else "managingOrganization"
        try:
            organization = _organization_named(body, element)
        except ValueError:
            raise DirectoryImportError(
                f"{where}: {element} must be a reference Organization/<id> ({_ID_RULE})"
            ) from None
        if organization == res_id and resource_type == "Organization":
            raise DirectoryImportError(f"{where}: partOf names the Organization itself")
        checked[(resource_type, res_id)] = _Checked(
            resource_type, res_id, body, current, organization
        )
    return checked


def _check_references(store: ResourceStore, checked: dict[tuple[str, str], _Checked]) -> None:
    """What partOf and managingOrganization name is in the file or in the directory, and
    no partOf chain comes back to where it started (also through the directory)."""
    in_file = {c.id: c for c in checked.values() if c.resource_type == "Organization"}
    stored: dict[str, StoredResource | None] = {}

    def in_directory(res_id: str) -> dict[str, Any] | None:
        if res_id not in stored:
            stored[res_id] = store.current("Organization", res_id)
        found = stored[res_id]
        return found.body if found is not None else None

    for item in checked.values():
        target = item.organization
        if target is not None and target not in in_file and in_directory(target) is None:
            element = "partOf" if item.resource_type == "Organization" else "managingOrganization"
            raise DirectoryImportError(
                f"{item.where}: {element} names Organization/{target}, which is neither in the "
                "file nor in the directory"
            )

    def parent(res_id: str) -> str | None:
        if res_id in in_file:
            return in_file[res_id].organization
        body = in_directory(res_id)
        if body is None:
            return None
        try:
            return _organization_named(body, "partOf")
        except ValueError:
            return None  # routing follows no such reference either

    without_loop: set[str] = set()
    for res_id in in_file:
        chain = [res_id]
        up = parent(res_id)
        while up is not None and up not in without_loop:
            if up in chain:
                loop = " -> ".join(f"Organization/{i}" for i in [*chain[chain.index(up) :], up])
                raise DirectoryImportError(
                    f"Organization/{res_id}: partOf leads round in a circle ({loop})"
                )
            chain.append(up)
            up = parent(up)
        without_loop.update(chain)


def _check_hsa_ids(store: ResourceStore, checked: dict[tuple[str, str], _Checked]) -> None:
    """An active Organization's HSA-id is no other active Organization's, in the file or
    in the directory (the rule of UniqueHsaIdHook; an inactive entry may share it)."""
    in_file = {c.id: c for c in checked.values() if c.resource_type == "Organization"}
    carrier: dict[str, str] = {}  # HSA-id -> the first active Organization of the file
    for item in in_file.values():
        for index, value in routed_hsa_ids(item.body):
            at = f"{item.where}: the HSA-id (identifier[{index}])"
            if check_hsa_id(value) is not None:
                raise DirectoryImportError(f"{at} is not a valid HSA-id")
            first = carrier.setdefault(value, item.id)
            if first != item.id:
                raise DirectoryImportError(
                    f"{at} is also carried by the active Organization/{first} in the file; "
                    "only one active Organization may carry an HSA-id"
                )
            for unit in units_with_hsa_id(store, value):
                if unit.id not in in_file:
                    raise DirectoryImportError(
                        f"{at} is carried by the active {unit.reference} in the directory; "
                        "only one active Organization may carry an HSA-id (make that one "
                        "inactive in the file, or change it)"
                    )


def _order(checked: dict[tuple[str, str], _Checked]) -> list[_Checked]:
    """Organizations (parents before children where the file names both) then Endpoints.
    For checked resources: no partOf chain loops."""
    organizations = {c.id: c for c in checked.values() if c.resource_type == "Organization"}
    ordered: list[_Checked] = []
    placed: set[str] = set()
    for res_id in organizations:
        chain: list[str] = []
        current: str | None = res_id
        while current is not None and current in organizations and current not in placed:
            chain.append(current)
            current = organizations[current].organization
        for each in reversed(chain):
            placed.add(each)
            ordered.append(organizations[each])
    ordered += [c for c in checked.values() if c.resource_type == "Endpoint"]
    return ordered


def import_resources(
    store: ResourceStore,
    validator: ValidationPipeline,
    resources: list[dict[str, Any]],
    *,
    progress: Callable[[int], None] | None = None,
    actor: str = "cli",
    file_kind: str = "bundle",
    environment: Environment = Environment.DEVELOPMENT,
) -> ImportResult:
    """Upsert by id in the caller's transaction (see the module docstring). Everything is
    checked before the first write; ``validator`` is the app's
    (:func:`gateway.validation.factory.build_validator`) for the FHIR API's checks, and
    ``environment`` the gateway's (production refuses plain http to another host)."""
    checked = _check_each(store, validator, resources, file_kind, environment)
    _check_references(store, checked)
    _check_hsa_ids(store, checked)
    result = ImportResult()
    for index, item in enumerate(_order(checked)):
        current = item.current
        if current is None:
            if store.known(item.resource_type, item.id):
                store.update(item.body, item.id)
                result.updated += 1
            else:
                store.create(item.body, res_id=item.id)
                result.created += 1
        elif current.body is not None and _comparable(current.body) == _comparable(item.body):
            result.unchanged += 1
        else:
            store.update(item.body, item.id)
            result.updated += 1
        if progress is not None:
            progress(index + 1)
    events.record(
        "directory.import",
        actor=actor,
        file_kind=file_kind,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
    )
    return result


# ----- exporting --------------------------------------------------------------------------


def directory_resources(store: ResourceStore) -> Iterator[StoredResource]:
    """Every current Organization and Endpoint, in id order, page by page."""
    for resource_type in DIRECTORY_TYPES:
        offset = 0
        while True:
            query = parse_search(
                resource_type,
                [("_sort", "_id"), ("_count", "200"), ("_offset", str(offset))],
                default_count=200,
                max_count=200,
            )
            page, _ = store.search(query, with_total=False)
            yield from page
            if len(page) < 200:
                break
            offset += 200


def export_bundle(resources: Iterable[StoredResource], fhir_base: str) -> dict[str, Any]:
    entries = [
        {"fullUrl": f"{fhir_base}/{s.reference}", "resource": s.body}
        for s in resources
        if s.body is not None
    ]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def _first(identifiers: list[dict[str, Any]], *systems: str) -> str:
    for identifier in identifiers:
        if identifier.get("system") in systems:
            return str(identifier.get("value", ""))
    return ""


def _reference_id(value: Any) -> str:
    reference = (value or {}).get("reference", "") if isinstance(value, dict) else ""
    return reference.split("/", 1)[1] if "/" in reference else ""


def csv_row(stored: StoredResource) -> dict[str, str]:
    body = stored.body or {}
    row = dict.fromkeys(CSV_COLUMNS, "")
    row["resource_type"], row["id"] = stored.resource_type, stored.id
    row["name"] = str(body.get("name", ""))
    if stored.resource_type == "Organization":
        identifiers = body.get("identifier") or []
        row["active"] = "false" if body.get("active") is False else "true"
        row["hsa_id"] = _first(identifiers, SYSTEM_HSA_ID, SYSTEM_HSA_ID_RIVTA)
        row["kommunkod"] = _first(identifiers, SYSTEM_KOMMUNKOD)
        row["lanskod"] = _first(identifiers, SYSTEM_LANSKOD)
        codings = [c for t in body.get("type") or [] for c in t.get("coding") or []]
        row["org_type"] = next(
            (c.get("code", "") for c in codings if c.get("system") == ORG_TYPE_SYSTEM), ""
        )
        row["part_of"] = _reference_id(body.get("partOf"))
    else:
        row["connection_type"] = str((body.get("connectionType") or {}).get("code", ""))
        row["address"] = str(body.get("address", ""))
        row["managing_organization"] = _reference_id(body.get("managingOrganization"))
        row["status"] = str(body.get("status", ""))
    return row


def export_csv(resources: Iterable[StoredResource], out: IO[str]) -> int:
    """The CSV, each cell neutralised for spreadsheets (see the module docstring)."""
    writer = csv.DictWriter(out, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
    # The csv module quotes a field with a line break of the line terminator's only: a
    # row with a carriage return in a cell has every field quoted, to read back as it was.
    quoted = csv.DictWriter(
        out, fieldnames=list(CSV_COLUMNS), lineterminator="\n", quoting=csv.QUOTE_ALL
    )
    writer.writeheader()
    count = 0
    for stored in resources:
        row = {k: neutralise_cell(v) for k, v in csv_row(stored).items()}
        (quoted if any("\r" in v for v in row.values()) else writer).writerow(row)
        count += 1
    return count
