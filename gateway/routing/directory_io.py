"""Directory import and export: a FHIR Bundle (lossless) or a flat CSV (the columns below).

Import is an upsert by resource id through the normal versioned store, in one transaction:
a resource that is unchanged stays at its version, a changed one gets a new version, a new
one is created with the given id. Every resource is validated first; one bad entry stops
the whole import and names the entry (never its content).

CSV columns (UTF-8, header row, one resource per row)::

    resource_type,id,active,name,hsa_id,kommunkod,lanskod,org_type,part_of,
    connection_type,address,managing_organization,status

Organization rows use ``active … part_of``; Endpoint rows use ``name``,
``connection_type`` (fhir-rest, rivta, inbox), ``address``, ``managing_organization``
(an Organization id) and ``status``. The CSV carries only these fields, so importing a
CSV row over an existing resource changes only them and keeps everything else (telecom,
address, other identifiers …); the Bundle carries and replaces whole resources.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from gateway.errors import FhirError
from gateway.routing import events
from gateway.routing.directory import CONNECTION_TYPE_SYSTEM, ORG_TYPE_SYSTEM
from gateway.search.query import parse_search
from gateway.store.resources import ResourceStore, StoredResource
from gateway.validation.identifiers import (
    SYSTEM_HSA_ID,
    SYSTEM_HSA_ID_RIVTA,
    SYSTEM_KOMMUNKOD,
    SYSTEM_LANSKOD,
)
from gateway.validation.pipeline import ValidationPipeline

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


def resources_from_bundle(data: bytes) -> list[dict[str, Any]]:
    try:
        bundle = json.loads(data)
    except ValueError:
        raise DirectoryImportError("the file is not JSON") from None
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise DirectoryImportError("the file is not a FHIR Bundle")
    found: list[dict[str, Any]] = []
    for index, entry in enumerate(bundle.get("entry") or []):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            raise DirectoryImportError(f"entry {index}: no resource")
        if resource.get("resourceType") not in DIRECTORY_TYPES:
            raise DirectoryImportError(f"entry {index}: only Organization and Endpoint belong here")
        if not isinstance(resource.get("id"), str):
            raise DirectoryImportError(f"entry {index}: the resource needs an id")
        found.append(resource)
    return found


def _identifier(system: str, value: str) -> dict[str, str]:
    return {"system": system, "value": value}


def _row_to_resource(row: dict[str, str], line: int) -> dict[str, Any]:
    kind, res_id = row.get("resource_type", ""), row.get("id", "")
    if not res_id:
        raise DirectoryImportError(f"line {line}: id is empty")
    if kind == "Organization":
        body: dict[str, Any] = {"resourceType": "Organization"}
        identifiers = []
        if row.get("hsa_id"):
            identifiers.append(_identifier(SYSTEM_HSA_ID, row["hsa_id"]))
        if row.get("kommunkod"):
            identifiers.append(_identifier(SYSTEM_KOMMUNKOD, row["kommunkod"]))
        if row.get("lanskod"):
            identifiers.append(_identifier(SYSTEM_LANSKOD, row["lanskod"]))
        if identifiers:
            body["identifier"] = identifiers
        body["active"] = row.get("active", "true").strip().lower() != "false"
        if row.get("org_type"):
            code = row["org_type"]
            coding = {"system": ORG_TYPE_SYSTEM, "code": code}
            if code in _ORG_TYPE_DISPLAY:
                coding["display"] = _ORG_TYPE_DISPLAY[code]
            body["type"] = [{"coding": [coding]}]
        if row.get("name"):
            body["name"] = row["name"]
        if row.get("part_of"):
            body["partOf"] = {"reference": f"Organization/{row['part_of']}"}
    elif kind == "Endpoint":
        body = {
            "resourceType": "Endpoint",
            "status": row.get("status") or "active",
            "connectionType": {
                "system": CONNECTION_TYPE_SYSTEM,
                "code": row.get("connection_type", ""),
            },
        }
        if row.get("name"):
            body["name"] = row["name"]
        if row.get("managing_organization"):
            body["managingOrganization"] = {
                "reference": f"Organization/{row['managing_organization']}"
            }
        body["payloadType"] = [{"text": "Begäran om medicinskt utlåtande (FHIR R4)"}]
        body["address"] = row.get("address", "")
    else:
        raise DirectoryImportError(f"line {line}: resource_type must be Organization or Endpoint")
    body["id"] = res_id
    return body


def resources_from_csv(data: bytes) -> list[dict[str, Any]]:
    text = data.decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or set(reader.fieldnames) != set(CSV_COLUMNS):
        raise DirectoryImportError(f"the CSV header must be {','.join(CSV_COLUMNS)}")
    return [_row_to_resource(row, reader.line_num) for row in reader]


def read_file(data: bytes, kind: str) -> list[dict[str, Any]]:
    return resources_from_bundle(data) if kind == "bundle" else resources_from_csv(data)


# ----- importing --------------------------------------------------------------------------


def _comparable(body: dict[str, Any]) -> dict[str, Any]:
    clean = {k: v for k, v in body.items() if k not in ("id", "meta")}
    meta = {
        k: v for k, v in (body.get("meta") or {}).items() if k not in ("versionId", "lastUpdated")
    }
    if meta:
        clean["meta"] = meta
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


def _order(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Organizations (parents before children where the file names both) then Endpoints."""
    organizations = {r["id"]: r for r in resources if r["resourceType"] == "Organization"}
    ordered: list[dict[str, Any]] = []
    placed: set[str] = set()

    def place(res_id: str, depth: int = 0) -> None:
        if res_id in placed or depth > 16:
            return
        parent = (organizations[res_id].get("partOf") or {}).get("reference", "")
        parent_id = parent.split("/", 1)[1] if parent.startswith("Organization/") else None
        if parent_id is not None and parent_id in organizations:
            place(parent_id, depth + 1)
        placed.add(res_id)
        ordered.append(organizations[res_id])

    for res_id in organizations:
        place(res_id)
    ordered += [r for r in resources if r["resourceType"] == "Endpoint"]
    return ordered


def import_resources(
    store: ResourceStore,
    validator: ValidationPipeline,
    resources: list[dict[str, Any]],
    *,
    progress: Callable[[int], None] | None = None,
    actor: str = "cli",
    file_kind: str = "bundle",
) -> ImportResult:
    """Upsert by id in the caller's transaction (see the module docstring)."""
    result = ImportResult()
    seen: set[tuple[str, str]] = set()
    for index, resource in enumerate(_order(resources)):
        key = (resource["resourceType"], resource["id"])
        where = f"{key[0]}/{key[1]}"
        if key in seen:
            raise DirectoryImportError(f"{where}: appears twice in the file")
        seen.add(key)
        current = store.current(*key)
        if file_kind == "csv" and current is not None and current.body is not None:
            body = merge_csv(current.body, resource)
        else:
            body = _comparable(resource)
        body["resourceType"] = resource["resourceType"]
        try:
            validator.check({**body, "id": resource["id"]})
        except FhirError as error:
            reasons = "; ".join(i.diagnostics or i.text_sv for i in error.issues)
            raise DirectoryImportError(f"{where}: {reasons}") from None
        if current is None:
            if store.known(*key):
                store.update(body, resource["id"])
                result.updated += 1
            else:
                store.create(body, res_id=resource["id"])
                result.created += 1
        elif current.body is not None and _comparable(current.body) == _comparable(body):
            result.unchanged += 1
        else:
            store.update(body, resource["id"])
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
    writer = csv.DictWriter(out, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
    writer.writeheader()
    count = 0
    for stored in resources:
        writer.writerow(csv_row(stored))
        count += 1
    return count
