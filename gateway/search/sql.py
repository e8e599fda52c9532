"""SQL for a :class:`SearchQuery`: current, non-deleted resources that match every criterion.

Each criterion becomes an EXISTS over ``fhir_search_index`` (values of one parameter are
OR-ed, parameters AND-ed), so filtering happens in the database before paging.

Building a statement costs more Python time than running it, so a statement is built
once per *shape* and reused. A query splits into its shape (resource type, parameters,
modifiers, value kinds, date prefixes, sort, kind of visibility: everything that changes
the SQL) and its values (codes, systems, ids, dates, text, the party, count and offset).
:func:`_split` makes that split in one pass; the builders below see only the shape and
take a bind parameter ``v0``, ``v1``, … for each value slot in the same order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import count
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    true,
)

from gateway.search.index import EXACT_SUFFIX
from gateway.search.parameters import ParamType
from gateway.search.query import (
    Criterion,
    DateValue,
    ReferenceValue,
    SearchQuery,
    TextValue,
    TokenValue,
)
from gateway.store.models import ResourceHead, ResourceVersion, SearchIndexRow, same_version
from gateway.store.protection import BodyProtection
from gateway.store.visibility import Visibility, seen_by_party

Blind = Callable[[str], list[str]]  # an identifier's blind values, as it may be indexed
Head = ResourceHead
Idx = SearchIndexRow

# Value shapes. Each names the value slots it takes, in order.
_TOKEN = "token"  # (kind, how many codes, system: "any" | "none" | "given"): codes, system?
_REFERENCE = "reference"  # (kind, has type): type?, id
_DATE = "date"  # (kind, prefix): start, end
_TEXT = "text"  # (kind, "contains" | "startswith" | "exact"): the LIKE pattern or text
# Criterion shapes.
_IDS = "_id"  # (kind,): the list of ids
_LAST_UPDATED = "_lastUpdated"  # (kind, prefixes): start, end per prefix
_MISSING = "missing"  # (kind, name, missing): no slots
_MATCH = "match"  # (kind, name, negated, value shapes)

_LIKE_ESCAPE = "/"

Shape = tuple[Any, ...]


@dataclass(frozen=True)
class SearchSql:
    """The SQL of one search, split once: statements for its shape, values to bind."""

    shape: Shape
    params: dict[str, Any]  # the criteria's and the party's values
    count: int
    offset: int

    @property
    def page(self) -> Select[Any]:
        """One page of matches as their current versions, in the requested order, ties
        broken by id: the page and its bodies in one statement.

        The page is chosen on the heads alone (a subquery that numbers its rows); only
        the page's versions are then read, so a broad search never touches bodies it
        skips. Run it with :attr:`page_params`.
        """
        return _page_statement(self.shape)

    @property
    def page_params(self) -> dict[str, Any]:
        return {**self.params, "page_count": self.count, "page_offset": self.offset}

    @property
    def total(self) -> Select[Any]:
        """How many match, all pages together. Run it with :attr:`params`."""
        return _count_statement(self.shape)


def search_sql(query: SearchQuery, protection: BodyProtection, visibility: Visibility) -> SearchSql:
    shape, values = _split(query, protection.blind_candidates, visibility)
    params = {f"v{slot}": value for slot, value in enumerate(values)}
    return SearchSql(shape, params, query.count, query.offset)


# ----- the split: shape and values ----------------------------------------------------


def _split(query: SearchQuery, blind: Blind, visibility: Visibility) -> tuple[Shape, list[Any]]:
    values: list[Any] = []
    criteria = tuple(_criterion_shape(c, blind, values) for c in query.criteria)
    if visibility.everything:
        seen_by: str = "everything"
    elif visibility.party is None:
        seen_by = "nothing"
    else:
        seen_by = (
            "party or unclaimed"
            if visibility.unclaimed
            else "party or public"
            if visibility.public
            else "party"
        )
        values.append(visibility.party)
    sort = tuple(
        (key.name, key.descending, key.param is not None and key.param.type is ParamType.DATE)
        for key in query.sort
    )
    return (query.resource_type, criteria, seen_by, sort), values


def _criterion_shape(criterion: Criterion, blind: Blind, values: list[Any]) -> Shape:
    if criterion.name == "_id":
        values.append([v.code for v in criterion.values if isinstance(v, TokenValue) and v.code])
        return (_IDS,)
    if criterion.name == "_lastUpdated":
        dates = [v for v in criterion.values if isinstance(v, DateValue)]
        for date in dates:
            values.extend((date.start, date.end))
        return (_LAST_UPDATED, tuple(date.prefix for date in dates))
    if criterion.modifier == "missing":
        return (_MISSING, criterion.name, criterion.values[0] is True)
    shapes = tuple(_value_shape(criterion, value, blind, values) for value in criterion.values)
    return (_MATCH, _indexed_as(criterion), criterion.modifier == "not", shapes)


def _indexed_as(criterion: Criterion) -> str:
    """The index rows a criterion is matched against: a string's ``:exact`` has rows of
    its own, the value as written (gateway.search.index.EXACT_SUFFIX)."""
    if criterion.type is ParamType.STRING and criterion.modifier == "exact":
        return criterion.name + EXACT_SUFFIX
    return criterion.name


def _value_shape(criterion: Criterion, value: object, blind: Blind, values: list[Any]) -> Shape:
    if isinstance(value, TokenValue):
        codes = [] if value.code is None else blind(value.code) if criterion.blind else [value.code]
        values.extend(codes)
        system = "any" if value.system is None else "none" if value.system == "" else "given"
        if system == "given":
            values.append(value.system)
        return (_TOKEN, len(codes), system)
    if isinstance(value, ReferenceValue):
        if value.type is not None:
            values.append(value.type)
        values.append(value.id)
        return (_REFERENCE, value.type is not None)
    if isinstance(value, DateValue):
        values.extend((value.start, value.end))
        return (_DATE, value.prefix)
    if isinstance(value, TextValue):
        mode = "exact"
        if criterion.type is ParamType.STRING and criterion.modifier == "contains":
            mode = "contains"
        elif criterion.type is ParamType.STRING and criterion.modifier != "exact":
            mode = "startswith"
        text = value.text
        if mode != "exact":
            for special in (_LIKE_ESCAPE, "%", "_"):
                text = text.replace(special, _LIKE_ESCAPE + special)
        values.append(
            f"%{text}%" if mode == "contains" else f"{text}%" if mode != "exact" else text
        )
        return (_TEXT, mode)
    raise TypeError(f"unexpected search value {type(value).__name__}")


# ----- the builders: shape to statement -----------------------------------------------


class _Slots:
    """Bind parameters v0, v1, … handed out in the order :func:`_split` filled them."""

    def __init__(self) -> None:
        self._numbers: Iterator[int] = count()

    def next(self, *, expanding: bool = False) -> BindParameter[Any]:
        return bindparam(f"v{next(self._numbers)}", expanding=expanding)


@lru_cache(maxsize=512)
def _page_statement(shape: Shape) -> Select[Any]:
    resource_type, _criteria, _seen_by, sort = shape
    order: list[Any] = []
    for name, descending, is_date in sort:
        expression = _sort_expression(resource_type, name, descending, is_date)
        # A resource without the parameter comes last either way, on both backends
        # (PostgreSQL would put it first when descending, SQLite first when ascending).
        order.append((expression.desc() if descending else expression.asc()).nulls_last())
    if not sort:
        order.append(Head.last_updated.asc())
    order.append(Head.res_id.asc())
    page = (
        select(
            Head.res_type,
            Head.res_id,
            Head.version_id,
            func.row_number().over(order_by=order).label("position"),
        )
        .where(*_where(shape))
        .order_by(*order)
        .limit(bindparam("page_count", type_=Integer))
        .offset(bindparam("page_offset", type_=Integer))
        .subquery("page")
    )
    versions = ResourceVersion.__table__  # Core rows: a page is read, never changed
    return select(versions).join(page, same_version(page, versions)).order_by(page.c.position)


@lru_cache(maxsize=512)
def _count_statement(shape: Shape) -> Select[Any]:
    return select(func.count()).select_from(Head).where(*_where(shape))


def _where(shape: Shape) -> list[ColumnElement[bool]]:
    resource_type, criteria, seen_by, _sort = shape
    slots = _Slots()
    conditions: list[ColumnElement[bool]] = [
        Head.res_type == resource_type,
        Head.deleted.is_(False),
    ]
    conditions.extend(_criterion_condition(resource_type, c, slots) for c in criteria)
    # The party's slot comes after the criteria's, as _split filled them.
    conditions.append(_visibility_condition(seen_by, slots))
    return conditions


def _visibility_condition(seen_by: str, slots: _Slots) -> ColumnElement[bool]:
    if seen_by == "everything":
        return true()
    if seen_by == "nothing":
        return false()
    return seen_by_party(
        Head.res_type,
        Head.res_id,
        slots.next(),
        unclaimed=seen_by == "party or unclaimed",
        public=seen_by == "party or public",
    )


def _criterion_condition(resource_type: str, shape: Shape, slots: _Slots) -> ColumnElement[bool]:
    kind = shape[0]
    if kind == _IDS:
        return Head.res_id.in_(slots.next(expanding=True))
    if kind == _LAST_UPDATED:
        prefixes = shape[1]
        return or_(false(), *(_instant_condition(p, slots.next(), slots.next()) for p in prefixes))
    if kind == _MISSING:
        _, name, missing = shape
        present = _index_exists(resource_type, name, true())
        return not_(present) if missing else present
    _, name, negated, value_shapes = shape
    any_value = or_(false(), *(_value_condition(v, slots) for v in value_shapes))
    if negated:
        return not_(_index_exists(resource_type, name, any_value))
    return _index_exists(resource_type, name, any_value)


def _value_condition(shape: Shape, slots: _Slots) -> ColumnElement[bool]:
    kind = shape[0]
    if kind == _TOKEN:
        _, codes, system = shape
        parts: list[ColumnElement[bool]] = []
        if codes == 1:
            parts.append(Idx.value == slots.next())
        elif codes > 1:  # a blind value under either key, while the key rotates
            parts.append(Idx.value.in_([slots.next() for _ in range(codes)]))
        if system == "none":
            parts.append(Idx.system.is_(None))
        elif system == "given":
            parts.append(Idx.system == slots.next())
        return and_(true(), *parts)
    if kind == _REFERENCE:
        if not shape[1]:
            return Idx.value == slots.next()
        return and_(Idx.system == slots.next(), Idx.value == slots.next())
    if kind == _DATE:
        return _date_condition(shape[1], slots.next(), slots.next())
    mode = shape[1]
    if mode == "exact":
        return Idx.value == slots.next()
    return Idx.value.like(slots.next(), escape=_LIKE_ESCAPE)


def _date_condition(prefix: str, qs: Any, qe: Any) -> ColumnElement[bool]:
    """FHIR date prefixes over a target range [start, end) and the query range."""
    start, end = Idx.date_start, Idx.date_end
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
    return conditions[prefix]


def _instant_condition(prefix: str, qs: Any, qe: Any) -> ColumnElement[bool]:
    """The same prefixes for a point in time (lastUpdated), at microsecond precision."""
    moment = Head.last_updated
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
    return conditions[prefix]


def _index_exists(
    resource_type: str, name: str, condition: ColumnElement[bool]
) -> ColumnElement[bool]:
    return exists().where(
        Idx.res_type == resource_type,
        Idx.res_id == Head.res_id,
        Idx.param == name,
        condition,
    )


def _sort_expression(resource_type: str, name: str, descending: bool, is_date: bool) -> Any:
    if name == "_id":
        return Head.res_id
    if name == "_lastUpdated":
        return Head.last_updated
    column = Idx.date_start if is_date else Idx.value
    aggregate = func.max(column) if descending else func.min(column)
    return (
        select(aggregate)
        .where(Idx.res_type == resource_type, Idx.res_id == Head.res_id, Idx.param == name)
        .scalar_subquery()
    )
