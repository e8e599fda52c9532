"""Which directory Organizations are care units: what an inbox account may be bound to."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.routing.directory import (
    ORG_TYPE_SYSTEM,
    is_care_unit,
    kommun_organization,
    region_organization,
)
from gateway.validation.identifiers import SYSTEM_HSA_ID

HSA = {"system": SYSTEM_HSA_ID, "value": "SE2321000057-VC1001"}


def _typed(code: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": ORG_TYPE_SYSTEM, "code": code}]}]


@pytest.mark.parametrize(
    ("body", "unit"),
    [
        ({"identifier": [HSA]}, True),
        ({"identifier": [HSA], "type": _typed("vardcentral")}, True),
        ({"identifier": [HSA], "type": _typed("kommun-socialtjanst")}, False),
        ({"identifier": [HSA], "type": _typed("region")}, False),
        ({"identifier": [{"system": SYSTEM_HSA_ID}]}, False),  # no value
        ({"type": [{"coding": ["not a coding"]}, "not a concept"]}, False),
        (kommun_organization("2180"), False),
        (region_organization("06"), False),
    ],
)
def test_a_care_unit_has_an_hsa_id_and_is_neither_kommun_nor_region(
    body: dict[str, Any], unit: bool
) -> None:
    assert is_care_unit(body) is unit
