"""What a request finds on the app: its settings, the FHIR interactions of one
transaction (the FHIR routes and the inbox build them alike), and the route resolver."""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session
from starlette.requests import Request

from gateway.api.interactions import FhirInteractions
from gateway.routing.resolver import ListingResolver, RouteResolver, build_listing_resolver
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


_resolver_lock = threading.Lock()


def route_resolver(request: Request) -> RouteResolver:
    """The app's resolver, built once from the settings (tests may set
    ``app.state.listing_resolver`` first to plug in their own sources)."""
    state = request.app.state
    with _resolver_lock:
        resolver: RouteResolver | None = getattr(state, "route_resolver", None)
        if resolver is None:
            settings: Settings = state.settings
            listing: ListingResolver | None = getattr(state, "listing_resolver", None)
            if listing is None:
                listing = build_listing_resolver(settings, state.engine)
                state.listing_resolver = listing
            resolver = RouteResolver(listing, settings)
            state.route_resolver = resolver
    return resolver
