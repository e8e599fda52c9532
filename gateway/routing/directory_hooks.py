"""Write hooks that keep the directory usable for routing.

Routing finds a unit by its HSA-id (``directory.unit_by_hsa_id``) and refuses to choose
between two active Organizations that carry it. One party's entry with another's HSA-id,
made in error or not, would so stop every request to that unit, from every kommun.
"""

from __future__ import annotations

from typing import Any

from gateway.api.interactions import FhirInteractions, PassThroughHook
from gateway.errors import FhirError
from gateway.routing.directory import HSA_SYSTEMS, units_with_hsa_id
from gateway.store.resources import StoredResource


class UniqueHsaIdHook(PassThroughHook):
    """An active Organization's HSA-id is no other active Organization's (409)."""

    resource_type = "Organization"

    def before_write(
        self, fhir: FhirInteractions, body: dict[str, Any], existing: StoredResource | None
    ) -> dict[str, Any]:
        if body.get("active") is False:
            return body  # an inactive entry is never routed to
        for index, identifier in enumerate(body.get("identifier") or []):
            value = identifier.get("value")
            if identifier.get("system") not in HSA_SYSTEMS or not isinstance(value, str):
                continue
            others = [
                unit
                for unit in units_with_hsa_id(fhir.store, value)
                if existing is None or unit.id != existing.id
            ]
            if others:
                raise FhirError.single(
                    409,
                    "duplicate",
                    "Det finns redan en aktiv enhet med samma HSA-id i katalogen. Ändra den "
                    "posten, eller gör den inaktiv, i stället för att lägga upp en till.",
                    expression=f"Organization.identifier[{index}].value",
                    diagnostics=f"the HSA-id is carried by {others[0].reference}",
                )
        return body
