"""An active Organization's HSA-id is no other active Organization's: one entry with
another's HSA-id would stop routing to that unit for every kommun (UniqueHsaIdHook)."""

from __future__ import annotations

from typing import Any

from gateway.canonical import CS_ORGANIZATION_TYPE
from gateway.routing.demo_directory import unit_hsa_id
from gateway.security.caller import PartyKind
from gateway.validation.identifiers import SYSTEM_HSA_ID
from tests.integration.workflow.conftest import ANNA, GAVLE, JONKOPING_VC, World
from tests.support.auth import bearer, register_client
from tests.support.fhir_data import FHIR_JSON
from tests.support.submissions import submission

REGION = "Organization/region-01"


def _unit(hsa_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "active": True,
        "identifier": [{"system": SYSTEM_HSA_ID, "value": hsa_id}],
        "type": [{"coding": [{"system": CS_ORGANIZATION_TYPE, "code": "vardcentral"}]}],
        "name": "Vårdcentralen Kopian",
        "partOf": {"reference": REGION},
        **extra,
    }


def _as_region(world: World, method: str, url: str, body: Any = None) -> Any:
    region = bearer(world.http, register_client(world.app, REGION, PartyKind.REGION))
    return world.http.request(method, url, json=body, headers={**region, **FHIR_JSON})


def test_another_regions_hsa_id_is_refused_and_routing_goes_on(world: World) -> None:
    taken = unit_hsa_id("vc-jonkoping-centrum")

    refused = _as_region(world, "POST", "/fhir/Organization", _unit(taken))

    assert refused.status_code == 409, refused.text
    issue = refused.json()["issue"][0]
    assert issue["expression"] == ["Organization.identifier[0].value"]
    assert "samma HSA-id" in issue["details"]["text"]
    routed = world.submit(submission(ANNA.personnummer, GAVLE, case_id="hsa-unik"))
    assert routed.status_code == 201, routed.text
    assert routed.json()["owner"] == {"reference": JONKOPING_VC}


def test_an_entry_keeps_its_own_hsa_id_and_an_inactive_one_may_share_it(world: World) -> None:
    created = _as_region(world, "POST", "/fhir/Organization", _unit("SE2321000016-VC9001"))
    assert created.status_code == 201, created.text
    own = created.json()
    renamed = _as_region(
        world, "PUT", f"/fhir/Organization/{own['id']}", {**own, "name": "Vårdcentralen Ny"}
    )
    assert renamed.status_code == 200, renamed.text
    inactive = _unit(unit_hsa_id("vc-jonkoping-centrum"), active=False)
    assert _as_region(world, "POST", "/fhir/Organization", inactive).status_code == 201
