"""The directory (IHE mCSD style, FHIR-native): Organizations and Endpoints in the store.

- Regions (``region-NN``, länskod identifier) and kommuner's socialtjänst units
  (``kommun-NNNN``, kommunkod identifier) come from the SCB reference data, loaded by
  :func:`load_reference`; vårdcentraler carry an HSA-id (either accepted system) and
  ``partOf`` their region or a parent unit.
- A unit's way in is found by walking ``partOf`` from the unit upwards: at each level the
  routing table (vägval) is asked first, then the directory's active Endpoints of that
  Organization. The first level with exactly one answer wins; two answers on one level is
  an error, never a guess.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from gateway.canonical import CS_CONNECTION_TYPE, CS_ORGANIZATION_TYPE
from gateway.routing import events, routing_table
from gateway.routing.person import PersonId
from gateway.routing.reference_data import kommuner, regions
from gateway.search.query import parse_search
from gateway.store.directory_cache import CACHED_TYPES, cached
from gateway.store.resources import ResourceStore, StoredResource
from gateway.store.visibility import EVERYTHING, Visibility
from gateway.validation.identifiers import (
    SYSTEM_HSA_ID,
    SYSTEM_HSA_ID_RIVTA,
    SYSTEM_KOMMUNKOD,
    SYSTEM_LANSKOD,
)
from gateway.validation.pipeline import ValidationPipeline

CANONICAL = "https://kv-gateway.se/fhir"
ORG_TYPE_SYSTEM = CS_ORGANIZATION_TYPE
CONNECTION_TYPE_SYSTEM = CS_CONNECTION_TYPE
CONNECTION_TYPES = ("fhir-rest", "rivta", "inbox")
HSA_SYSTEMS = (SYSTEM_HSA_ID, SYSTEM_HSA_ID_RIVTA)
MAX_PARTOF_DEPTH = 8


class DirectoryError(Exception):
    """``code``: ``ambiguous-unit``, ``ambiguous-endpoint``, ``no-endpoint``,
    ``partof-loop`` or a routing-table code. Carries no person data."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


def _coding(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}]}


def region_id(lanskod: str) -> str:
    return f"region-{lanskod}"


def kommun_id(kommunkod: str) -> str:
    return f"kommun-{kommunkod}"


def region_organization(lanskod: str) -> dict[str, Any]:
    info = regions()[lanskod]
    return {
        "resourceType": "Organization",
        "identifier": [{"system": SYSTEM_LANSKOD, "value": lanskod}],
        "active": True,
        "type": [_coding(ORG_TYPE_SYSTEM, "region", "Region")],
        "name": info.name,
        "alias": [info.lan],
    }


def kommun_organization(kommunkod: str) -> dict[str, Any]:
    info = kommuner()[kommunkod]
    return {
        "resourceType": "Organization",
        "identifier": [{"system": SYSTEM_KOMMUNKOD, "value": kommunkod}],
        "active": True,
        "type": [_coding(ORG_TYPE_SYSTEM, "kommun-socialtjanst", "Kommunens socialtjänst")],
        "name": f"Socialtjänsten, {info.name} kommun",
        "alias": [f"{info.name} kommun"],
    }


def reference_resources() -> list[tuple[str, dict[str, Any]]]:
    """The 21 regions and 290 kommuner as Organizations with their stable ids."""
    found = [(region_id(code), region_organization(code)) for code in sorted(regions())]
    found += [(kommun_id(code), kommun_organization(code)) for code in sorted(kommuner())]
    return found


@dataclass
class LoadReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _merge_reference(existing: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any] | None:
    """The existing body with the reference-owned fields set, or None if nothing changes.

    Only the name and the code identifier are owned by the reference data: anything a
    region or an administrator added (organisationsnummer, telecom, endpoints, alias …)
    is kept."""
    merged = {k: v for k, v in existing.items() if k not in ("id", "meta")}
    changed = False
    if merged.get("name") != wanted["name"]:
        merged["name"] = wanted["name"]
        changed = True
    code_identifier = wanted["identifier"][0]
    identifiers = list(merged.get("identifier") or [])
    same_system = [i for i in identifiers if i.get("system") == code_identifier["system"]]
    if [i.get("value") for i in same_system] != [code_identifier["value"]]:
        identifiers = [i for i in identifiers if i.get("system") != code_identifier["system"]]
        identifiers.insert(0, code_identifier)
        merged["identifier"] = identifiers
        changed = True
    for key in ("type", "active"):
        if key not in merged:
            merged[key] = wanted[key]
            changed = True
    if existing.get("meta", {}).get("security"):
        merged["meta"] = {"security": existing["meta"]["security"]}
    return merged if changed else None


def load_reference(
    store: ResourceStore, validator: ValidationPipeline, *, actor: str = "system"
) -> LoadReport:
    """Create or reconcile the 311 reference Organizations. Idempotent: a second run
    changes nothing; a renamed kommun becomes a new version of the same resource."""
    report = LoadReport()
    for res_id, wanted in reference_resources():
        current = store.current("Organization", res_id)
        if current is None or current.body is None:
            if store.known("Organization", res_id):
                # Deleted on purpose by an administrator: leave it deleted.
                report.unchanged += 1
                continue
            validator.check(wanted)
            store.create(wanted, res_id=res_id)
            report.created += 1
            continue
        merged = _merge_reference(current.body, wanted)
        if merged is None:
            report.unchanged += 1
            continue
        validator.check(merged)
        store.update(merged, res_id)
        report.updated += 1
    events.record(
        "directory.reference.load",
        actor=actor,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
    )
    return report


# ----- lookups --------------------------------------------------------------------------


def _search(
    store: ResourceStore,
    resource_type: str,
    items: list[tuple[str, str]],
    visibility: Visibility = EVERYTHING,
) -> list[StoredResource]:
    query = parse_search(resource_type, items, default_count=50, max_count=50)
    if resource_type not in CACHED_TYPES:  # the directory's own types are everyone's
        found, _ = store.search(query, visibility=visibility, with_total=False)
        return found

    def matching_ids() -> tuple[str, ...]:
        found, _ = store.search(query, with_total=False)
        return tuple(stored.id for stored in found)

    ids = cached(store.session, ("search", resource_type, tuple(items)), matching_ids)
    entries = (store.current(resource_type, res_id) for res_id in ids)
    return [entry for entry in entries if entry is not None]


def hsa_id_of(body: dict[str, Any]) -> str | None:
    for identifier in body.get("identifier") or []:
        if identifier.get("system") in HSA_SYSTEMS and identifier.get("value"):
            value: str = identifier["value"]
            return value
    return None


# Organization types that are never a care unit, whatever identifiers they carry.
_NOT_CARE_UNITS = frozenset({(ORG_TYPE_SYSTEM, "kommun-socialtjanst"), (ORG_TYPE_SYSTEM, "region")})


def is_care_unit(body: dict[str, Any]) -> bool:
    """An Organization that requests can be routed to: it has an HSA-id and is not typed
    as a kommun or a region."""
    types = {
        (coding.get("system"), coding.get("code"))
        for concept in body.get("type") or []
        for coding in (concept.get("coding") or [] if isinstance(concept, dict) else [])
        if isinstance(coding, dict)
    }
    return hsa_id_of(body) is not None and not types & _NOT_CARE_UNITS


def units_with_hsa_id(store: ResourceStore, hsa_id: str) -> list[StoredResource]:
    """The active Organizations that carry this HSA-id (either system)."""
    values = ",".join(f"{system}|{hsa_id}" for system in HSA_SYSTEMS)
    return [
        s
        for s in _search(store, "Organization", [("identifier", values)])
        if s.body is not None and s.body.get("active", True) is not False
    ]


def unit_by_hsa_id(store: ResourceStore, hsa_id: str) -> StoredResource | None:
    """The active Organization with this HSA-id (either system), or None."""
    found = units_with_hsa_id(store, hsa_id)
    if len(found) > 1:
        raise DirectoryError(
            "ambiguous-unit", "more than one active Organization carries the HSA-id"
        )
    return found[0] if found else None


def kommun_by_code(store: ResourceStore, kommunkod: str) -> StoredResource | None:
    found = _search(store, "Organization", [("identifier", f"{SYSTEM_KOMMUNKOD}|{kommunkod}")])
    return found[0] if found else None


def patients_of(
    store: ResourceStore, person: PersonId, visibility: Visibility = EVERYTHING
) -> list[StoredResource]:
    """The Patients that ``visibility`` shows of ``person``, under any system that names
    them (``http://electronichealth.se/identifier/personnummer`` or its OID form)."""
    values = ",".join(f"{system}|{person.value}" for system in person.systems)
    return _search(store, "Patient", [("identifier", values)], visibility)


def requests_about(
    store: ResourceStore, patient: str, visibility: Visibility = EVERYTHING
) -> list[StoredResource]:
    """The ServiceRequests about ``patient`` (a ``Patient/id``) that ``visibility`` shows."""
    return _search(store, "ServiceRequest", [("subject", patient)], visibility)


@dataclass(frozen=True)
class Way:
    """How a unit is reached: which Endpoint, found at which level and how."""

    endpoint: StoredResource
    via: StoredResource  # the Organization whose route or Endpoint was used
    connection_type: str
    from_routing_table: bool
    logical_address: str | None


def may_use(session: Session, consumer: str, service_contract: str, way: Way) -> bool:
    """Whether the gateway (``consumer``) may send by ``way``: a route from the routing
    table needs its authorisation (anropsbehörighet) for the route's logical address; an
    Endpoint from the directory needs none."""
    return not way.from_routing_table or routing_table.is_authorised(
        session, consumer, service_contract, way.logical_address or ""
    )


def _connection_type(endpoint: dict[str, Any]) -> str:
    coding = endpoint.get("connectionType") or {}
    code = coding.get("code") if coding.get("system") == CONNECTION_TYPE_SYSTEM else None
    return code if isinstance(code, str) else "unknown"


def _endpoints_of(store: ResourceStore, organization: StoredResource) -> list[StoredResource]:
    assert organization.body is not None
    found: dict[str, StoredResource] = {}
    for ref in organization.body.get("endpoint") or []:
        reference = ref.get("reference", "")
        if reference.startswith("Endpoint/"):
            endpoint = store.current("Endpoint", reference.split("/", 1)[1])
            if endpoint is not None:
                found[endpoint.id] = endpoint
    for endpoint in _search(
        store, "Endpoint", [("organization", organization.reference), ("status", "active")]
    ):
        found[endpoint.id] = endpoint
    return [e for e in found.values() if e.body is not None and e.body.get("status") == "active"]


def _parent(store: ResourceStore, organization: StoredResource) -> StoredResource | None:
    assert organization.body is not None
    reference = (organization.body.get("partOf") or {}).get("reference", "")
    if not reference.startswith("Organization/"):
        return None
    return store.current("Organization", reference.split("/", 1)[1])


def way_in(
    store: ResourceStore,
    unit: StoredResource,
    service_contract: str,
    at: datetime.datetime | None = None,
) -> Way:
    """The Endpoint that reaches ``unit``, walking partOf (see the module docstring)."""
    seen: set[str] = set()
    current: StoredResource | None = unit
    for _ in range(MAX_PARTOF_DEPTH):
        if current is None or current.body is None:
            break
        if current.id in seen:
            raise DirectoryError("partof-loop", "the partOf chain loops")
        seen.add(current.id)
        hsa_id = hsa_id_of(current.body)
        if hsa_id and routing_table.has_routes(store.session, service_contract, hsa_id):
            try:
                route = routing_table.route_for(store.session, service_contract, hsa_id, at)
            except routing_table.RoutingTableError as error:
                raise DirectoryError(error.code, f"routing table: {error.code}") from None
            endpoint = store.current("Endpoint", route.endpoint_id)
            if endpoint is None or endpoint.body is None:
                raise DirectoryError("no-endpoint", "the route names an unknown Endpoint")
            return Way(endpoint, current, _connection_type(endpoint.body), True, hsa_id)
        endpoints = _endpoints_of(store, current)
        if len(endpoints) > 1:
            raise DirectoryError(
                "ambiguous-endpoint", "an Organization has more than one active Endpoint"
            )
        if endpoints:
            endpoint = endpoints[0]
            assert endpoint.body is not None
            return Way(endpoint, current, _connection_type(endpoint.body), False, hsa_id)
        current = _parent(store, current)
    raise DirectoryError("no-endpoint", "no Endpoint on the unit or any parent")
