"""SQL for a :class:`SearchQuery`: current, non-deleted resources that match every criterion.

Each criterion becomes an EXISTS over ``fhir_search_index`` (values of one parameter are
OR-ed, parameters AND-ed), so filtering happens in the database before paging.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, not_, or_, select, true

from gateway.search.parameters import ParamType
from gateway.search.query import (
    Criterion,
    DateValue,
    ReferenceValue,
    SearchQuery,
    SortKey,
    TextValue,
    TokenValue,
)
from gateway.store.models import ResourceHead, ResourceVersion, SearchIndexRow
from gateway.store.protection import BodyProtection
from gateway.store.visibility import Visibility

Blind = Callable[[str], str]
Head = ResourceHead
Idx = SearchIndexRow


def _date_condition(start: Any, end: Any, value: DateValue) -> ColumnElement[bool]:
    """FHIR date prefixes over a target range [start, end) and the query range."""
    qs, qe = value.start, value.end
    equal = and_(start >= qs, end <= qe)
    conditions: dict[str, ColumnElement[bool]] = {
        "eq": equal,
        "ne": not_(equal),
        "gt": end > qe,
        "lt": start < qs,
        "ge": or_(end > qe, equal),
        "le": or_(start < qs, equal),
        "sa": start >= qe,
        "eb": end <= qs,
    }
    return conditions[value.prefix]


def _instant_condition(value: DateValue) -> ColumnElement[bool]:
    """The same prefixes for a point in time (lastUpdated), at microsecond precision."""
    moment, qs, qe = Head.last_updated, value.start, value.end
    equal = and_(moment >= qs, moment < qe)
    conditions: dict[str, ColumnElement[bool]] = {
        "eq": equal,
        "ne": not_(equal),
        "gt": moment >= qe,
        "lt": moment < qs,
        "ge": moment >= qs,
        "le": moment < qe,
        "sa": moment >= qe,
        "eb": moment < qs,
    }
    return conditions[value.prefix]


def _value_condition(criterion: Criterion, value: object, blind: Blind) -> ColumnElement[bool]:
    if isinstance(value, TokenValue):
        parts: list[ColumnElement[bool]] = []
        if value.code is not None:
            parts.append(Idx.value == (blind(value.code) if criterion.blind else value.code))
        if value.system == "":
            parts.append(Idx.system.is_(None))
        elif value.system is not None:
            parts.append(Idx.system == value.system)
        return and_(true(), *parts)
    if isinstance(value, ReferenceValue):
        if value.type is None:
            return Idx.value == value.id
        return and_(Idx.system == value.type, Idx.value == value.id)
    if isinstance(value, DateValue):
        return _date_condition(Idx.date_start, Idx.date_end, value)
    if isinstance(value, TextValue):
        if criterion.type is ParamType.STRING and criterion.modifier == "contains":
            return Idx.value.contains(value.text, autoescape=True)
        if criterion.type is ParamType.STRING and criterion.modifier != "exact":
            return Idx.value.startswith(value.text, autoescape=True)
        return Idx.value == value.text
    raise TypeError(f"unexpected search value {type(value).__name__}")


def _index_exists(
    resource_type: str, name: str, condition: ColumnElement[bool]
) -> ColumnElement[bool]:
    return exists().where(
        Idx.res_type == resource_type,
        Idx.res_id == Head.res_id,
        Idx.param == name,
        condition,
    )


def _criterion_condition(
    resource_type: str, criterion: Criterion, blind: Blind
) -> ColumnElement[bool]:
    if criterion.name == "_id":
        ids = [v.code for v in criterion.values if isinstance(v, TokenValue) and v.code]
        return Head.res_id.in_(ids)
    if criterion.name == "_lastUpdated":
        return or_(
            false(),
            *(_instant_condition(v) for v in criterion.values if isinstance(v, DateValue)),
        )
    if criterion.modifier == "missing":
        present = _index_exists(resource_type, criterion.name, true())
        return not_(present) if criterion.values[0] is True else present
    any_value = or_(false(), *(_value_condition(criterion, v, blind) for v in criterion.values))
    if criterion.modifier == "not":
        return not_(_index_exists(resource_type, criterion.name, any_value))
    return _index_exists(resource_type, criterion.name, any_value)


def _where(query: SearchQuery, blind: Blind, visibility: Visibility) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        Head.res_type == query.resource_type,
        Head.deleted.is_(False),
        visibility.condition(Head.res_type, Head.res_id),
    ]
    conditions.extend(_criterion_condition(query.resource_type, c, blind) for c in query.criteria)
    return conditions


def _sort_expression(query: SearchQuery, key: SortKey) -> Any:
    if key.name == "_id":
        return Head.res_id
    if key.name == "_lastUpdated":
        return Head.last_updated
    column = Idx.date_start if key.param and key.param.type is ParamType.DATE else Idx.value
    aggregate = func.max(column) if key.descending else func.min(column)
    return (
        select(aggregate)
        .where(
            Idx.res_type == query.resource_type, Idx.res_id == Head.res_id, Idx.param == key.name
        )
        .scalar_subquery()
    )


def select_matches(
    query: SearchQuery, protection: BodyProtection, visibility: Visibility
) -> Select[ResourceVersion]:
    """One page of matches as their current versions, in the requested order, ties
    broken by id: the page and its bodies in one statement.

    The page is chosen on the heads alone (a subquery that numbers its rows); only the
    page's versions are then read, so a broad search never touches bodies it skips.
    """
    order: list[Any] = []
    for key in query.sort:
        expression = _sort_expression(query, key)
        order.append(expression.desc() if key.descending else expression.asc())
    if not query.sort:
        order.append(Head.last_updated.asc())
    order.append(Head.res_id.asc())
    page = (
        select(
            Head.res_type,
            Head.res_id,
            Head.version_id,
            func.row_number().over(order_by=order).label("position"),
        )
        .where(*_where(query, protection.blind, visibility))
        .order_by(*order)
        .limit(query.count)
        .offset(query.offset)
        .subquery("page")
    )
    return (
        select(ResourceVersion)
        .join(
            page,
            (page.c.res_type == ResourceVersion.res_type)
            & (page.c.res_id == ResourceVersion.res_id)
            & (page.c.version_id == ResourceVersion.version_id),
        )
        .order_by(page.c.position)
    )


def count_matches(
    query: SearchQuery, protection: BodyProtection, visibility: Visibility
) -> Select[int]:
    conditions = _where(query, protection.blind, visibility)
    return select(func.count()).select_from(Head).where(*conditions)
