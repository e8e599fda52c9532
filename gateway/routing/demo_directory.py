"""A small synthetic directory for the demo and for tests.

Four regions, four kommuner (their socialtjänst units), five vårdcentraler with HSA-ids
and endpoints of each connection type, and synthetic persons listed so that a request
from one kommun goes to a vårdcentral in another region. Every person number here is
generated (valid check digit) and belongs to nobody.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from gateway.routing.reference_data import kommun, region
from gateway.store.resources import ResourceStore
from gateway.validation.identifiers import (
    SYSTEM_HSA_ID,
    SYSTEM_KOMMUNKOD,
    SYSTEM_LANSKOD,
    SYSTEM_ORGANISATIONSNUMMER,
    SYSTEM_PERSONNUMMER,
    luhn_check_digit,
    synthetic_personnummer,
)
from gateway.validation.pipeline import ValidationPipeline

CANONICAL = "https://kv-gateway.se/fhir"
ORG_TYPE_SYSTEM = f"{CANONICAL}/CodeSystem/organization-type"
CONNECTION_TYPE_SYSTEM = f"{CANONICAL}/CodeSystem/endpoint-connection-type"
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


def _region_org(demo: DemoRegion) -> dict[str, Any]:
    info = region(demo.lanskod)
    assert info is not None
    return {
        "resourceType": "Organization",
        "identifier": [
            {"system": SYSTEM_ORGANISATIONSNUMMER, "value": organisationsnummer(demo.orgnr_prefix)},
            {"system": SYSTEM_LANSKOD, "value": demo.lanskod},
        ],
        "active": True,
        "type": [_coding(ORG_TYPE_SYSTEM, "region", "Region")],
        "name": info.name,
    }


def _kommun_org(kommunkod: str) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "identifier": [
            {"system": SYSTEM_KOMMUNKOD, "value": kommunkod},
            {
                "system": SYSTEM_ORGANISATIONSNUMMER,
                "value": organisationsnummer("212000" + kommunkod[1:]),
            },
        ],
        "active": True,
        "type": [_coding(ORG_TYPE_SYSTEM, "kommun-socialtjanst", "Kommunens socialtjänst")],
        "name": f"Socialtjänsten, ekonomiskt bistånd, {_kommun_name(kommunkod)} kommun",
        "telecom": [{"system": "phone", "value": "+46 10 000 00 00", "use": "work"}],
    }


def _kommun_name(kommunkod: str) -> str:
    info = kommun(kommunkod)
    assert info is not None, "demo kommunkoder come from the reference list"
    return info.name


def _hsa_id(unit: DemoUnit) -> str:
    demo = next(r for r in REGIONS if r.lanskod == unit.lanskod)
    return f"SE{organisationsnummer(demo.orgnr_prefix)}-{unit.hsa_suffix}"


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


def _endpoint(unit: DemoUnit, fhir_peer_base: str) -> dict[str, Any]:
    assert unit.connection is not None
    address = {
        "fhir-rest": fhir_peer_base,
        "rivta": f"https://ntjp.example.invalid/vp/{_hsa_id(unit)}",
        "inbox": f"{CANONICAL}/inbox/{unit.key}",
    }[unit.connection]
    return {
        "resourceType": "Endpoint",
        "identifier": [{"system": f"{CANONICAL}/endpoint-id", "value": f"ep-{unit.key}"}],
        "status": "active",
        "connectionType": {"system": CONNECTION_TYPE_SYSTEM, "code": unit.connection},
        "name": f"{unit.name} ({unit.connection})",
        "managingOrganization": {"reference": f"Organization/{unit.key}"},
        "payloadType": [{"text": "Begäran om medicinskt utlåtande (FHIR R4)"}],
        "address": address,
    }


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
                    "system": f"{CANONICAL}/CodeSystem/protected-identity",
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


def demo_resources(fhir_peer_base: str) -> list[tuple[str, dict[str, Any]]]:
    """Every demo resource with its stable id, parents before children."""
    resources: list[tuple[str, dict[str, Any]]] = []
    resources += [(f"region-{r.lanskod}", _region_org(r)) for r in REGIONS]
    resources += [(f"kommun-{k}", _kommun_org(k)) for k in KOMMUNER]
    for unit in UNITS:
        resources.append((unit.key, _unit_org(unit)))
        if unit.connection:
            resources.append((f"ep-{unit.key}", _endpoint(unit, fhir_peer_base)))
    resources += [(f"person-{p.key}", _patient(p)) for p in PERSONS]
    return resources


def seed_demo(store: ResourceStore, validator: ValidationPipeline, fhir_peer_base: str) -> int:
    """Create the demo directory; resources that already exist are left alone. Returns new count."""
    created = 0
    for res_id, body in demo_resources(fhir_peer_base):
        if store.known(body["resourceType"], res_id):
            continue
        validator.check(body)
        store.create(body, res_id=res_id)
        created += 1
    return created
