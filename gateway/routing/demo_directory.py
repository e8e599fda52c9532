"""A small synthetic directory for the demo and for tests, on top of the reference load.

The 21 regions and 290 kommuner come from :func:`gateway.routing.directory.load_reference`;
this adds five vårdcentraler with HSA-ids and endpoints of each connection type, synthetic
persons with their rows in the local listing register (so that a request from one kommun
goes to a vårdcentral in another region), and for the RIVTA unit a vägval plus two
anropsbehörigheter: the gateway's, to send it requests, and its journal system's, to send the
gateway status changes and answers. Every person number here is generated (valid check
digit) and belongs to nobody.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from gateway.canonical import CS_CONNECTION_TYPE, CS_ORGANIZATION_TYPE, SECURITY_LABEL_SYSTEM
from gateway.delivery.protocols import EXT_ENDPOINT_ADAPTER_PROFILE
from gateway.rivta.contract import NS_UPDATE
from gateway.routing import routing_table
from gateway.routing.directory import load_reference
from gateway.routing.listing_register import add_listing
from gateway.routing.person import ListingHasher
from gateway.routing.reference_data import kommun
from gateway.settings import Settings, get_settings
from gateway.store.resources import ResourceStore
from gateway.validation.identifiers import (
    SYSTEM_HSA_ID,
    SYSTEM_PERSONNUMMER,
    luhn_check_digit,
    synthetic_personnummer,
)
from gateway.validation.pipeline import ValidationPipeline

CANONICAL = "https://kv-gateway.se/fhir"
ORG_TYPE_SYSTEM = CS_ORGANIZATION_TYPE
CONNECTION_TYPE_SYSTEM = CS_CONNECTION_TYPE
SECURITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"


def organisationsnummer(first_nine: str) -> str:
    """A 10-digit organisationsnummer with its Luhn check digit."""
    return first_nine + str(luhn_check_digit(first_nine))


@dataclass(frozen=True)
class DemoRegion:
    lanskod: str
    orgnr_prefix: str


@dataclass(frozen=True)
class DemoUnit:
    key: str
    name: str
    lanskod: str
    kommunkod: str
    hsa_suffix: str
    connection: str | None  # None: reached through its parent's endpoint
    parent: str | None = None  # Organization id; default the region
    address: str = ""


REGIONS = (
    DemoRegion("01", "232100001"),
    DemoRegion("06", "232100005"),
    DemoRegion("13", "232100011"),
    DemoRegion("21", "232100019"),
)
KOMMUNER = ("0180", "0680", "1380", "2180")
UNITS = (
    DemoUnit(
        "vc-jonkoping-centrum",
        "Vårdcentralen Jönköping Centrum",
        "06",
        "0680",
        "VC1001",
        "fhir-rest",
    ),
    DemoUnit("vc-gavle-sodra", "Hälsocentralen Gävle Södra", "21", "2180", "VC2001", "rivta"),
    DemoUnit("vc-halmstad-norr", "Vårdcentralen Halmstad Norr", "13", "1380", "VC3001", "inbox"),
    DemoUnit("vc-sodermalm", "Vårdcentralen Södermalm", "01", "0180", "VC4001", "fhir-rest"),
    DemoUnit(
        "vc-sodermalm-filial",
        "Vårdcentralen Södermalm, filial Hornstull",
        "01",
        "0180",
        "VC4002",
        None,
        parent="vc-sodermalm",
    ),
)


@dataclass(frozen=True)
class DemoPerson:
    key: str
    birth: datetime.date
    serial: int
    given: str
    family: str
    listed_at: str | None
    home_kommun: str
    protected: bool = False

    @property
    def personnummer(self) -> str:
        return synthetic_personnummer(self.birth, self.serial)


PERSONS = (
    # Lives in Gävle (Region Gävleborg), listed in Jönköping (Region Jönköpings län).
    DemoPerson(
        "anna", datetime.date(1985, 3, 14), 238, "Anna", "Testsson", "vc-jonkoping-centrum", "2180"
    ),
    DemoPerson(
        "bengt", datetime.date(1972, 11, 2), 415, "Bengt", "Provsson", "vc-sodermalm", "0180"
    ),
    DemoPerson(
        "cecilia",
        datetime.date(1990, 6, 30),
        127,
        "Cecilia",
        "Demodotter",
        "vc-halmstad-norr",
        "1380",
    ),
    DemoPerson(
        "david", datetime.date(1968, 1, 9), 553, "David", "Exempelsson", "vc-gavle-sodra", "0680"
    ),
    DemoPerson(
        "eva",
        datetime.date(1995, 8, 21),
        302,
        "Eva",
        "Skyddad",
        "vc-sodermalm-filial",
        "0180",
        protected=True,
    ),
    DemoPerson("fredrik", datetime.date(2000, 12, 24), 611, "Fredrik", "Olistad", None, "1380"),
)


def _coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def _kommun_name(kommunkod: str) -> str:
    info = kommun(kommunkod)
    assert info is not None, "demo kommunkoder come from the reference list"
    return info.name


def _region_hsa_id(lanskod: str, suffix: str) -> str:
    demo = next(r for r in REGIONS if r.lanskod == lanskod)
    return f"SE{organisationsnummer(demo.orgnr_prefix)}-{suffix}"


def _hsa_id(unit: DemoUnit) -> str:
    return _region_hsa_id(unit.lanskod, unit.hsa_suffix)


RIVTA_UNIT = next(u for u in UNITS if u.connection == "rivta")
# The system HSA-id of the journal system behind the RIVTA unit (its certificate's serialNumber).
RIVTA_JOURNAL_SYSTEM_HSA_ID = _region_hsa_id(RIVTA_UNIT.lanskod, "JS01")


def unit_hsa_id(key: str) -> str:
    """The HSA-id of the demo unit with this key (``vc-jonkoping-centrum`` …)."""
    return _hsa_id(next(unit for unit in UNITS if unit.key == key))


def _unit_org(unit: DemoUnit) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "identifier": [{"system": SYSTEM_HSA_ID, "value": _hsa_id(unit)}],
        "active": True,
        "type": [_coding(ORG_TYPE_SYSTEM, "vardcentral", "Vårdcentral")],
        "name": unit.name,
        "partOf": {"reference": f"Organization/{unit.parent or 'region-' + unit.lanskod}"},
        "address": [{"city": _kommun_name(unit.kommunkod), "country": "SE"}],
    }


@dataclass(frozen=True)
class DemoPeers:
    """Where the demo's journal systems are: the fhir-rest peer's FHIR base (and the adapter
    profile its Endpoints name), and the RIVTA producer's service address. Without a RIVTA
    address the RIVTA Endpoint points at a placeholder platform address that never answers
    (``ntjp.example.invalid``); its HSA-id identifier is the logical address either way."""

    fhir_base: str
    fhir_rest_profile: str | None = None
    rivta_address: str | None = None


def _endpoint(unit: DemoUnit, peers: DemoPeers) -> dict[str, Any]:
    assert unit.connection is not None
    address = {
        "fhir-rest": peers.fhir_base,
        "rivta": peers.rivta_address or f"https://ntjp.example.invalid/vp/{_hsa_id(unit)}",
        "inbox": f"{CANONICAL}/inbox/{unit.key}",
    }[unit.connection]
    identifiers = [{"system": f"{CANONICAL}/endpoint-id", "value": f"ep-{unit.key}"}]
    if unit.connection == "rivta":  # the logical address the message carries
        identifiers.append({"system": SYSTEM_HSA_ID, "value": _hsa_id(unit)})
    endpoint = {
        "resourceType": "Endpoint",
        "identifier": identifiers,
        "status": "active",
        "connectionType": {"system": CONNECTION_TYPE_SYSTEM, "code": unit.connection},
        "name": f"{unit.name} ({unit.connection})",
        "managingOrganization": {"reference": f"Organization/{unit.key}"},
        "payloadType": [{"text": "Begäran om medicinskt utlåtande (FHIR R4)"}],
        "address": address,
    }
    if unit.connection == "fhir-rest" and peers.fhir_rest_profile:
        # The adapter settings the unit is reached with (credentials live in configuration).
        endpoint["extension"] = [
            {"url": EXT_ENDPOINT_ADAPTER_PROFILE, "valueString": peers.fhir_rest_profile}
        ]
    return endpoint


def _patient(person: DemoPerson) -> dict[str, Any]:
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": [{"system": SYSTEM_PERSONNUMMER, "value": person.personnummer}],
        "name": [{"family": person.family, "given": [person.given]}],
        "birthDate": person.birth.isoformat(),
    }
    if person.listed_at:
        patient["generalPractitioner"] = [{"reference": f"Organization/{person.listed_at}"}]
    if person.protected:
        patient["meta"] = {
            "security": [
                {
                    "system": SECURITY_LABEL_SYSTEM,
                    "code": "skyddadFolkbokforing",
                    "display": "Skyddad folkbokföring",
                }
            ]
        }
    else:
        patient["address"] = [
            {"use": "home", "city": _kommun_name(person.home_kommun), "country": "SE"}
        ]
    return patient


def demo_resources(peers: DemoPeers) -> list[tuple[str, dict[str, Any]]]:
    """Every demo resource with its stable id, parents before children.

    The regions and kommuner themselves come from the reference load
    (:func:`gateway.routing.directory.load_reference`), which :func:`seed_demo` runs first.
    """
    resources: list[tuple[str, dict[str, Any]]] = []
    for unit in UNITS:
        resources.append((unit.key, _unit_org(unit)))
        if unit.connection:
            resources.append((f"ep-{unit.key}", _endpoint(unit, peers)))
    resources += [(f"person-{p.key}", _patient(p)) for p in PERSONS]
    return resources


LISTED_SINCE = datetime.date(2020, 1, 1)


def demo_listings() -> list[tuple[DemoPerson, DemoUnit]]:
    by_key = {unit.key: unit for unit in UNITS}
    return [(p, by_key[p.listed_at]) for p in PERSONS if p.listed_at]


def seed_demo(
    store: ResourceStore,
    validator: ValidationPipeline,
    peers: DemoPeers,
    settings: Settings | None = None,
) -> int:
    """Load the reference directory, then the demo directory, the demo persons' rows in
    the local listing register and the RIVTA unit's vägval and anropsbehörigheter.
    Everything that already exists is left alone, except that the fhir-rest and RIVTA
    Endpoints are pointed at ``peers`` when they point elsewhere, so that the demo journal
    systems are found on whatever ports they run. Returns the number of new resources."""
    settings = settings or get_settings()
    created = load_reference(store, validator).created
    for res_id, body in demo_resources(peers):
        existing = store.current(body["resourceType"], res_id)
        if existing is not None and existing.body is not None:
            _repoint_peer_endpoint(store, validator, existing.body, body)
            continue
        if store.known(body["resourceType"], res_id):
            continue
        validator.check(body)
        store.create(body, res_id=res_id)
        created += 1
    hasher = ListingHasher(settings.listing_hash_key.get_secret_value().encode())
    connection = store.session.connection()
    for person, unit in demo_listings():
        add_listing(
            connection,
            hasher.raw(SYSTEM_PERSONNUMMER, person.personnummer),
            _hsa_id(unit),
            unit.lanskod,
            valid_from=LISTED_SINCE,
            protected_identity=person.protected,
        )
    _seed_rivta_route(store, settings)
    return created


_PEER_ELEMENTS = ("address", "identifier", "extension")


def _repoint_peer_endpoint(
    store: ResourceStore, validator: ValidationPipeline, old: dict[str, Any], new: dict[str, Any]
) -> None:
    if old.get("resourceType") != "Endpoint" or new["connectionType"]["code"] == "inbox":
        return
    if all(old.get(element) == new.get(element) for element in _PEER_ELEMENTS):
        return
    body = {key: value for key, value in old.items() if key not in (*_PEER_ELEMENTS, "meta")}
    body.update({element: new[element] for element in _PEER_ELEMENTS if element in new})
    validator.check(body)
    store.update(body, str(old["id"]))


def _seed_rivta_route(store: ResourceStore, settings: Settings) -> None:
    service, address = settings.routing_service_contract, _hsa_id(RIVTA_UNIT)
    since = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    if not routing_table.has_routes(store.session, service, address):
        routing_table.add_route(
            store.session, service, address, f"ep-{RIVTA_UNIT.key}", valid_from=since, actor="seed"
        )
    # The gateway may send the unit requests; the unit's journal system may report back.
    for consumer, contract in (
        (settings.routing_consumer_id, service),
        (RIVTA_JOURNAL_SYSTEM_HSA_ID, NS_UPDATE),
    ):
        if not routing_table.is_authorised(store.session, consumer, contract, address):
            routing_table.add_authorisation(
                store.session, consumer, contract, address, valid_from=since, actor="seed"
            )
