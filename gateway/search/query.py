"""Parsing FHIR search parameters from a query string into a typed :class:`SearchQuery`.

Unknown parameters are refused (``Prefer: handling=strict`` is the default) because a
mistyped filter that is silently ignored returns far more than the caller meant.
``Prefer: handling=lenient`` ignores them and reports them back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

from gateway.errors import FhirError, Issue
from gateway.search.dates import date_range
from gateway.search.index import (
    MAX_SYSTEM_LENGTH,
    MAX_VALUE_LENGTH,
    normalize_string,
    split_reference,
)
from gateway.search.parameters import ParamType, SearchParameter, parameters_for

DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")
CONTROL = {"_count", "_offset", "_sort", "_total", "_format", "_pretty"}
SPECIAL = {"_id", "_lastUpdated"}
_MODIFIERS: dict[ParamType, frozenset[str]] = {
    ParamType.TOKEN: frozenset({"missing", "not"}),
    ParamType.REFERENCE: frozenset({"missing"}),
    ParamType.DATE: frozenset({"missing"}),
    ParamType.STRING: frozenset({"missing", "exact", "contains"}),
    ParamType.URI: frozenset({"missing"}),
}
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
# A search value or system is no longer than the index holds them (MAX_VALUE_LENGTH,
# MAX_SYSTEM_LENGTH): a longer one would match nothing, and a far longer one is more than
# SQLite takes as a LIKE pattern.
# Each parameter is a subquery and each value a term: past these, PostgreSQL takes
# seconds to minutes to plan a statement, and SQLite refuses one nested too deep.
MAX_VALUES = 100  # comma-separated values of one parameter, and _sort keys
MAX_CRITERIA = 20  # parameters a search filters on, besides _id


@dataclass(frozen=True)
class TokenValue:
    system: str | None  # None: any system; "": no system
    code: str | None  # None: any code in the system


@dataclass(frozen=True)
class DateValue:
    prefix: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class ReferenceValue:
    type: str | None
    id: str


@dataclass(frozen=True)
class TextValue:
    text: str


Value = TokenValue | DateValue | ReferenceValue | TextValue | bool


@dataclass(frozen=True)
class Criterion:
    name: str
    type: ParamType
    modifier: str | None
    values: tuple[Value, ...]  # any of them matches
    raw: str  # as given, for the self link
    blind: bool = False  # token codes are compared as blind indexes


@dataclass(frozen=True)
class SortKey:
    name: str
    descending: bool
    param: SearchParameter | None  # None for _id and _lastUpdated


@dataclass
class SearchQuery:
    resource_type: str
    criteria: list[Criterion] = field(default_factory=list)
    sort: list[SortKey] = field(default_factory=list)
    count: int = 20
    offset: int = 0
    want_total: bool = True
    ignored: list[str] = field(default_factory=list)

    def parameter_names(self) -> set[str]:
        """The parameters this search filters or sorts on."""
        return {c.name for c in self.criteria} | {s.name for s in self.sort}

    def link_params(self, *, offset: int | None = None) -> str:
        """The query string of this search (normalised), for self/next/previous links."""
        items: list[tuple[str, str]] = []
        for criterion in self.criteria:
            key = criterion.name + (f":{criterion.modifier}" if criterion.modifier else "")
            items.append((key, criterion.raw))
        if self.sort:
            items.append(
                ("_sort", ",".join(("-" if s.descending else "") + s.name for s in self.sort))
            )
        items.append(("_count", str(self.count)))
        chosen = self.offset if offset is None else offset
        if chosen:
            items.append(("_offset", str(chosen)))
        return urlencode(items)


def _bad(text_sv: str, diagnostics: str, expression: str | None = None) -> FhirError:
    return FhirError.single(400, "invalid", text_sv, expression=expression, diagnostics=diagnostics)


def _split_or(raw: str, name: str, where: str | None) -> list[str]:
    """Comma means OR; ``\\,`` is a literal comma. At most :data:`MAX_VALUES` values."""
    parts = re.split(r"(?<!\\),", raw)
    if len(parts) > MAX_VALUES:
        raise _bad(
            f"Sökparametern har för många värden. Ange högst {MAX_VALUES}.",
            f"'{name}' takes at most {MAX_VALUES} comma-separated values",
            where,
        )
    return [p.replace("\\,", ",") for p in parts]


def _bounded(text: str, name: str, where: str | None, limit: int = MAX_VALUE_LENGTH) -> str:
    """``text`` if it is at most ``limit`` characters, else 400 at the parameter."""
    if len(text) > limit:
        raise _bad(
            f"Sökvärdet är för långt. Ett värde får vara högst {limit} tecken.",
            f"'{name}' values are at most {limit} characters",
            where,
        )
    return text


def _parse_token(raw: str, name: str, where: str | None) -> TokenValue:
    if "|" not in raw:
        return TokenValue(None, _bounded(raw, name, where))
    system, code = raw.split("|", 1)
    _bounded(system, name, where, MAX_SYSTEM_LENGTH)
    return TokenValue(system, _bounded(code, name, where) or None)


def _parse_boolean(raw: str, name: str, where: str | None) -> TokenValue:
    """A boolean token's value: ``true`` or ``false`` (a boolean has no system)."""
    if raw not in {"true", "false"}:
        raise _bad(
            f"Sökparametern {name} tar värdet true eller false.",
            f"'{name}' is a boolean: it takes true or false",
            where,
        )
    return TokenValue(None, raw)


def _parse_date(raw: str, name: str, where: str | None) -> DateValue:
    prefix = "eq"
    if raw[:2] in DATE_PREFIXES and not raw[:2].isdigit():
        prefix, raw = raw[:2], raw[2:]
    parsed = date_range(raw)
    if parsed is None:
        raise _bad(
            "Datumet i sökningen har fel format. Ange till exempel 2026-11-22.",
            f"'{name}' needs a FHIR date, dateTime or instant",
            where,
        )
    return DateValue(prefix, parsed[0], parsed[1])


def _parse_reference(raw: str, param: SearchParameter) -> ReferenceValue:
    ref_type, ref_id = split_reference(raw)
    if ref_type is None and _ID.match(raw):
        return ReferenceValue(None, raw)
    if ref_type is not None and param.targets and ref_type not in param.targets:
        raise _bad(
            "Sökningen pekar på en resurstyp som parametern inte kan hänvisa till.",
            f"'{param.name}' refers to {', '.join(param.targets)}",
            param.expression,
        )
    return ReferenceValue(ref_type, ref_id)


def _parse_missing(raw: str, name: str) -> bool:
    if raw not in {"true", "false"}:
        raise _bad(
            "Modifieraren :missing tar värdet true eller false.",
            f"'{name}:missing' takes true or false",
        )
    return raw == "true"


def _parse_values(
    param_type: ParamType,
    modifier: str | None,
    raw: str,
    param: SearchParameter | None,
    name: str,
) -> tuple[Value, ...]:
    where = param.expression if param else None
    if modifier == "missing":
        return (_parse_missing(raw, name),)
    values: list[Value] = []
    for part in _split_or(raw, name, where):
        if part == "":
            raise _bad("Sökparametern saknar värde.", f"'{name}' has an empty value", where)
        if param_type is ParamType.TOKEN and param is not None and param.boolean:
            values.append(_parse_boolean(part, name, where))
        elif param_type is ParamType.TOKEN:
            values.append(_parse_token(part, name, where))
        elif param_type is ParamType.DATE:
            values.append(_parse_date(part, name, where))
        elif param_type is ParamType.REFERENCE:
            assert param is not None
            values.append(_parse_reference(_bounded(part, name, where), param))
        elif param_type is ParamType.STRING:
            text = part if modifier == "exact" else normalize_string(part)
            values.append(TextValue(_bounded(text, name, where)))
        else:
            values.append(TextValue(_bounded(part, name, where)))
    return tuple(values)


_SMALL_NUMBER = re.compile(r"[0-9]{1,9}")


def small_number(raw: str) -> int | None:
    """``raw`` as a count, an offset or a version: one to nine ASCII digits (``²`` and
    numbers past what the database holds are not), else None."""
    return int(raw) if _SMALL_NUMBER.fullmatch(raw) else None


def _parse_int(raw: str, name: str, minimum: int) -> int:
    number = small_number(raw)
    if number is None or number < minimum:
        raise _bad(
            f"Parametern {name} ska vara ett heltal som är minst {minimum}.",
            f"'{name}' must be an integer >= {minimum}",
        )
    return number


def _parse_sort(raw: str, params: dict[str, SearchParameter]) -> list[SortKey]:
    keys: list[SortKey] = []
    for part in _split_or(raw, "_sort", None):
        descending = part.startswith("-")
        name = part[1:] if descending else part
        if name == "" or name.startswith("-"):
            raise _bad(
                "Parametern _sort ska vara en lista med parameternamn, vart och ett med"
                " högst ett minustecken framför för omvänd ordning, till exempel -_lastUpdated.",
                "_sort takes comma-separated parameter names, each with at most one leading"
                " '-'; a key is empty or has more",
            )
        if name in SPECIAL:
            keys.append(SortKey(name, descending, None))
            continue
        param = params.get(name)
        if param is None or param.type not in (ParamType.DATE, ParamType.STRING, ParamType.TOKEN):
            raise _bad(
                "Det går inte att sortera på den parametern.",
                f"cannot sort on '{name}'; use _id, _lastUpdated or a date, string or token",
            )
        keys.append(SortKey(name, descending, param))
    return keys


_TOTALS = ("none", "estimate", "accurate")


def _parse_total(raw: str) -> bool:
    """``_total``: whether to count the matches (``estimate`` is counted, ``none`` not)."""
    if raw not in _TOTALS:
        raise _bad(
            "Parametern _total tar värdet none, estimate eller accurate.",
            "_total must be none, estimate or accurate",
        )
    return raw != "none"


def parse_search(
    resource_type: str,
    items: Iterable[tuple[str, str]],
    *,
    lenient: bool = False,
    default_count: int = 20,
    max_count: int = 200,
) -> SearchQuery:
    params = parameters_for(resource_type)
    query = SearchQuery(resource_type, count=default_count)
    problems: list[Issue] = []
    for key, raw in items:
        name, _, modifier_text = key.partition(":")
        modifier = modifier_text or None
        try:
            if "\x00" in key or "\x00" in raw:  # no database stores it in a text
                raise _bad(
                    "Sökningen innehåller ett tecken som inte är tillåtet.",
                    "a search parameter holds a NUL character",
                )
            if name in CONTROL:
                if name == "_count":
                    query.count = min(_parse_int(raw, name, 0), max_count)
                elif name == "_offset":
                    query.offset = _parse_int(raw, name, 0)
                elif name == "_sort":
                    query.sort = _parse_sort(raw, params)
                elif name == "_total":
                    query.want_total = _parse_total(raw)
                continue
            if name in ("_id", "_lastUpdated") and modifier is not None:
                raise _bad(
                    "Sökparametern används med en modifierare som inte stöds.",
                    f"modifier ':{modifier[:32]}' is not supported on '{name}'",
                )
            if name == "_id":
                ids = [_bounded(i, name, None) for i in _split_or(raw, name, None)]
                query.criteria.append(
                    Criterion(
                        name, ParamType.TOKEN, None, tuple(TokenValue(None, i) for i in ids), raw
                    )
                )
                continue
            if name == "_lastUpdated":
                values = _parse_values(ParamType.DATE, None, raw, None, name)
                query.criteria.append(Criterion(name, ParamType.DATE, None, values, raw))
                continue
            param = params.get(name)
            if param is None:
                if lenient:
                    query.ignored.append(key)
                    continue
                raise _bad(
                    "Sökparametern är okänd för den här resurstypen.",
                    f"unknown search parameter '{name}' for {resource_type}; "
                    "see the CapabilityStatement",
                )
            if modifier is not None and modifier not in _MODIFIERS[param.type]:
                raise _bad(
                    "Sökparametern används med en modifierare som inte stöds.",
                    f"modifier ':{modifier}' is not supported on '{name}'",
                    param.expression,
                )
            values = _parse_values(param.type, modifier, raw, param, name)
            query.criteria.append(
                Criterion(name, param.type, modifier, values, raw, blind=param.blind)
            )
        except FhirError as error:
            problems.extend(error.issues)
    # _id is left out of the count: the gateway adds it to a Subscription's criteria
    # to match one Task, and a list of ids is cheap to plan.
    if sum(1 for c in query.criteria if c.name != "_id") > MAX_CRITERIA:
        problems.extend(
            _bad(
                f"Sökningen har för många villkor. Ange högst {MAX_CRITERIA} sökparametrar.",
                f"at most {MAX_CRITERIA} search parameters per search",
            ).issues
        )
    if problems:
        raise FhirError(400, problems)
    return query
