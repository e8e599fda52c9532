"""What the workflow needs from routing: the unit a person's request goes to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class RoutedUnit:
    organization: str  # "Organization/…" of the vårdcentral where the person is listed
    hsa_id: str
    endpoint: str | None  # "Endpoint/…", its own or its parent's
    connection_type: str | None
    protected_identity: bool = False
    reasoning: tuple[str, ...] = ()


class UnitRouter(Protocol):
    def route(
        self,
        session: Session,
        person_system: str,
        person_value: str,
        kommunkod: str,
        *,
        asked_by: str = "",
    ) -> RoutedUnit:
        """The unit; raises FhirError (422 not listed / unit unknown, 503 source down).
        ``asked_by``: the party that asks, whose recent answers alone it may reuse."""
        ...
