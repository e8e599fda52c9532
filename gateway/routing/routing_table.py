"""The routing table (vägval) and the authorisation table (anropsbehörighet).

Vägval maps (service contract, logical address = HSA-id) to an Endpoint for a period.
Exactly one route may be active at a time for a pair; none or several is a routing error
with a clear code. Anropsbehörighet says which consumer may call which service contract
at which logical address, for a period. Periods are half-open: ``valid_from`` included,
``valid_to`` excluded, ``None`` = open.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gateway.routing import events
from gateway.routing.models import AuthorisationEntry, RouteEntry
from gateway.store.directory_cache import cached, directory_changed


class RoutingTableError(Exception):
    """``code``: ``no-route`` or ``ambiguous-route``. Carries no person data."""

    def __init__(self, code: str, service_contract: str, logical_address: str) -> None:
        super().__init__(code)
        self.code = code
        self.service_contract = service_contract
        self.logical_address = logical_address


@dataclass(frozen=True)
class Route:
    service_contract: str
    logical_address: str
    endpoint_id: str
    valid_from: datetime.datetime
    valid_to: datetime.datetime | None


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _check_period(valid_from: datetime.datetime, valid_to: datetime.datetime | None) -> None:
    if valid_from.tzinfo is None or (valid_to is not None and valid_to.tzinfo is None):
        raise ValueError("validity times must carry a time zone")
    if valid_to is not None and valid_to <= valid_from:
        raise ValueError("valid_to must be after valid_from")


def add_route(
    session: Session,
    service_contract: str,
    logical_address: str,
    endpoint_id: str,
    *,
    valid_from: datetime.datetime,
    valid_to: datetime.datetime | None = None,
    actor: str = "system",
) -> None:
    _check_period(valid_from, valid_to)
    directory_changed(session)
    session.add(
        RouteEntry(
            service_contract=service_contract,
            logical_address=logical_address,
            endpoint_id=endpoint_id,
            valid_from=valid_from,
            valid_to=valid_to,
        )
    )
    session.flush()
    events.record(
        "routing.route.add",
        actor=actor,
        service_contract=service_contract,
        logical_address=logical_address,
        endpoint=f"Endpoint/{endpoint_id}",
    )


def _routes_of(session: Session, service_contract: str, logical_address: str) -> tuple[Route, ...]:
    """Every route of the pair, in any period, in the order they were added (memoised
    with the directory: :mod:`gateway.store.directory_cache`)."""

    def read() -> tuple[Route, ...]:
        rows = session.scalars(
            select(RouteEntry)
            .where(
                RouteEntry.service_contract == service_contract,
                RouteEntry.logical_address == logical_address,
            )
            .order_by(RouteEntry.row_id)
        ).all()
        return tuple(_route(r) for r in rows)

    return cached(session, ("routes", service_contract, logical_address), read)


def _route(row: RouteEntry) -> Route:
    return Route(
        row.service_contract, row.logical_address, row.endpoint_id, row.valid_from, row.valid_to
    )


def active_routes(
    session: Session,
    service_contract: str,
    logical_address: str,
    at: datetime.datetime | None = None,
) -> list[Route]:
    at = at or _now()
    return [
        route
        for route in _routes_of(session, service_contract, logical_address)
        if route.valid_from <= at and (route.valid_to is None or route.valid_to > at)
    ]


def has_routes(session: Session, service_contract: str, logical_address: str) -> bool:
    """Whether the table knows the pair at all (in any period)."""
    return bool(_routes_of(session, service_contract, logical_address))


def route_for(
    session: Session,
    service_contract: str,
    logical_address: str,
    at: datetime.datetime | None = None,
) -> Route:
    """The one active route, or :class:`RoutingTableError` (``no-route``/``ambiguous-route``)."""
    routes = active_routes(session, service_contract, logical_address, at)
    if not routes:
        raise RoutingTableError("no-route", service_contract, logical_address)
    if len(routes) > 1:
        raise RoutingTableError("ambiguous-route", service_contract, logical_address)
    return routes[0]


def all_routes(session: Session) -> list[Route]:
    rows = session.scalars(select(RouteEntry).order_by(RouteEntry.row_id)).all()
    return [_route(r) for r in rows]


@dataclass(frozen=True)
class Authorisation:
    consumer: str
    service_contract: str
    logical_address: str
    valid_from: datetime.datetime
    valid_to: datetime.datetime | None


def add_authorisation(
    session: Session,
    consumer: str,
    service_contract: str,
    logical_address: str,
    *,
    valid_from: datetime.datetime,
    valid_to: datetime.datetime | None = None,
    actor: str = "system",
) -> None:
    _check_period(valid_from, valid_to)
    session.add(
        AuthorisationEntry(
            consumer=consumer,
            service_contract=service_contract,
            logical_address=logical_address,
            valid_from=valid_from,
            valid_to=valid_to,
        )
    )
    session.flush()
    events.record(
        "routing.authorisation.add",
        actor=actor,
        service_contract=service_contract,
        logical_address=logical_address,
    )


def is_authorised(
    session: Session,
    consumer: str,
    service_contract: str,
    logical_address: str,
    at: datetime.datetime | None = None,
) -> bool:
    at = at or _now()
    found = session.execute(
        select(AuthorisationEntry.row_id)
        .where(
            AuthorisationEntry.consumer == consumer,
            AuthorisationEntry.service_contract == service_contract,
            AuthorisationEntry.logical_address == logical_address,
            AuthorisationEntry.valid_from <= at,
            or_(AuthorisationEntry.valid_to.is_(None), AuthorisationEntry.valid_to > at),
        )
        .limit(1)
    ).first()
    return found is not None


def all_authorisations(session: Session) -> list[Authorisation]:
    rows = session.scalars(select(AuthorisationEntry).order_by(AuthorisationEntry.row_id)).all()
    return [
        Authorisation(r.consumer, r.service_contract, r.logical_address, r.valid_from, r.valid_to)
        for r in rows
    ]
