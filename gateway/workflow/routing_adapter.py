"""The routing resolver seen through the workflow's UnitRouter port."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gateway.errors import FhirError
from gateway.routing.person import PersonId, PersonIdError
from gateway.routing.resolver import RouteOutcome, RouteResolver
from gateway.workflow.routing_port import RoutedUnit

_RETRY_AFTER_SECONDS = "60"


class ResolverRouter:
    def __init__(self, resolver: RouteResolver) -> None:
        self.resolver = resolver

    def route(
        self,
        session: Session,
        person_system: str,
        person_value: str,
        kommunkod: str,
        *,
        asked_by: str = "",
    ) -> RoutedUnit:
        try:
            person = PersonId.parse(person_system, person_value)
        except PersonIdError as error:
            raise FhirError.single(
                422,
                "business-rule",
                error.text_sv,
                expression="Patient.identifier",
                diagnostics=error.code,
            ) from None
        decision = self.resolver.resolve(session, person, kommunkod, asked_by=asked_by)
        reasoning = tuple(step.text_sv for step in decision.steps)
        if (
            decision.outcome is RouteOutcome.ROUTED
            and decision.unit is not None
            and decision.way is not None
        ):
            return RoutedUnit(
                organization=decision.unit.reference,
                hsa_id=decision.hsa_id or "",
                endpoint=decision.way.endpoint.reference,
                connection_type=decision.way.connection_type,
                protected_identity=decision.protected_identity,
                reasoning=reasoning,
            )
        explanation = reasoning[-1] if reasoning else "Förfrågan kunde inte dirigeras."
        if decision.outcome is RouteOutcome.UNAVAILABLE:
            raise FhirError.single(
                503,
                "transient",
                explanation,
                diagnostics=f"routing: {decision.outcome.value}",
                headers={"Retry-After": _RETRY_AFTER_SECONDS},
            )
        raise FhirError.single(
            422,
            "business-rule",
            explanation,
            expression="Patient.identifier",
            diagnostics=f"routing: {decision.outcome.value}",
        )
