"""What a request finds on the app: its settings, and the FHIR interactions of one
transaction (the FHIR routes and the inbox build them alike)."""

from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.requests import Request

from gateway.api.interactions import FhirInteractions
from gateway.security.audit import AuditTrail
from gateway.security.caller import Caller
from gateway.settings import Settings
from gateway.store.resources import ResourceStore


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def interactions_for(
    request: Request, session: Session, caller: Caller, trail: AuditTrail
) -> FhirInteractions:
    """The interactions of ``caller`` in ``session``, with the app's validator and hooks."""
    return FhirInteractions(
        ResourceStore(session),
        request.app.state.validator,
        caller,
        settings_of(request),
        trail,
        request.app.state.hooks,
    )
