"""Turns a resource into the index rows its declared search parameters call for.

Rows are plain values so the store can write them to any database. Dates become a
half-open UTC range ``[start, end)`` at the precision the resource gave, which is what the
FHIR date-search prefixes compare against.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from gateway.search.dates import date_range
from gateway.search.parameters import ParamType, SearchParameter, parameters_for

_LOCAL_REFERENCE = re.compile(
    r"^(?:(?P<base>https?://\S+?)/)?(?P<type>[A-Z][A-Za-z]{1,63})/(?P<id>[A-Za-z0-9\-.]{1,64})"
    r"(?:/_history/[A-Za-z0-9\-.]{1,64})?$"
)

# Raise by one whenever this module would derive other rows from the same resource and
# parameter (a value normalised differently, a new kind of row): every store then shows
# its index as stale until `kv-gateway db reindex --stale` has rebuilt it
# (gateway.store.index_marks). A change to a declared parameter needs no raise.
# tests/unit/test_index_format.py fails when the rows change and this does not.
INDEX_FORMAT = 3  # 2: string parameters have rows for :exact; 3: every value cut alike

# What the index columns hold (gateway.store.models.SearchIndexRow): values of at most
# 512 characters and systems of at most 255; longer ones are cut there (see _held).
MAX_VALUE_LENGTH = 512
MAX_SYSTEM_LENGTH = 255

MIN_INSTANT = datetime(1, 1, 1)
MAX_INSTANT = datetime(9999, 12, 31, 23, 59, 59)


@dataclass(frozen=True)
class IndexRow:
    param: str
    system: str | None = None
    value: str | None = None
    date_start: datetime | None = None
    date_end: datetime | None = None


def normalize_string(text: str) -> str:
    """Case- and accent-insensitive form used for string search (FHIR's default matching)."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


def split_reference(reference: str) -> tuple[str | None, str]:
    """``Type/id`` (optionally absolute or versioned) -> (type, id); anything else -> (None, it)."""
    match = _LOCAL_REFERENCE.match(reference)
    if match:
        return match.group("type"), match.group("id")
    return None, reference


def _token_rows(name: str, value: Any) -> list[IndexRow]:
    if isinstance(value, bool):
        return [IndexRow(name, None, "true" if value else "false")]
    if isinstance(value, str):
        return [IndexRow(name, None, value)]
    if not isinstance(value, dict):
        return []
    if "coding" in value:
        return [row for coding in value["coding"] for row in _token_rows(name, coding)]
    if "code" in value:
        return [IndexRow(name, value.get("system"), str(value["code"]))]
    if "value" in value:
        return [IndexRow(name, value.get("system"), str(value["value"]))]
    return []


def _reference_rows(name: str, value: Any) -> list[IndexRow]:
    if isinstance(value, str):  # canonical: match the URL, and Type/id when it has that shape
        url = value.split("|", 1)[0]
        ref_type, ref_id = split_reference(url)
        rows = [IndexRow(name, None, url)]
        if ref_type is not None:
            rows.append(IndexRow(name, ref_type, ref_id))
        return rows
    if isinstance(value, dict) and isinstance(value.get("reference"), str):
        ref_type, ref_id = split_reference(value["reference"])
        return [IndexRow(name, ref_type, ref_id)]
    return []


def _date_rows(name: str, value: Any) -> list[IndexRow]:
    if isinstance(value, str):
        parsed = date_range(value)
        return [IndexRow(name, date_start=parsed[0], date_end=parsed[1])] if parsed else []
    if isinstance(value, dict) and ("start" in value or "end" in value):
        start = date_range(value["start"]) if "start" in value else None
        end = date_range(value["end"]) if "end" in value else None
        return [
            IndexRow(
                name,
                date_start=start[0] if start else MIN_INSTANT,
                date_end=end[1] if end else MAX_INSTANT,
            )
        ]
    return []


# The rows a string's :exact search matches: the value as written, under ``name:exact``.
EXACT_SUFFIX = ":exact"


def _string_rows(name: str, value: Any) -> list[IndexRow]:
    """The value normalised (for the default prefix and ``:contains`` searches) and as
    written (for ``:exact``, which is case- and accent-sensitive)."""
    if isinstance(value, str):
        return [
            IndexRow(name, None, normalize_string(value)),
            IndexRow(name + EXACT_SUFFIX, None, value),
        ]
    return []


def _uri_rows(name: str, value: Any) -> list[IndexRow]:
    return [IndexRow(name, None, value)] if isinstance(value, str) else []


_EXTRACTORS = {
    ParamType.TOKEN: _token_rows,
    ParamType.REFERENCE: _reference_rows,
    ParamType.DATE: _date_rows,
    ParamType.STRING: _string_rows,
    ParamType.URI: _uri_rows,
}


def rows_for_parameter(
    param: SearchParameter, resource: dict[str, Any], blind: Callable[[str], str]
) -> list[IndexRow]:
    extract = _EXTRACTORS[param.type]
    rows: list[IndexRow] = []
    for value in param.values(resource):
        rows.extend(extract(param.name, value))
    rows = [_held(row) for row in rows]
    if param.blind:
        rows = [replace(r, value=blind(r.value)) if r.value else r for r in rows]
    return list(dict.fromkeys(rows))


def _held(row: IndexRow) -> IndexRow:
    """The row as the index columns hold it on every backend: a value of at most
    MAX_VALUE_LENGTH characters and a system of at most MAX_SYSTEM_LENGTH (a search value
    is no longer than those). PostgreSQL's columns would cut a longer one where SQLite's
    keep it whole, so a search would match on one backend and not on the other."""
    value = row.value[:MAX_VALUE_LENGTH] if row.value else row.value
    system = row.system[:MAX_SYSTEM_LENGTH] if row.system else row.system
    if value is row.value and system is row.system:
        return row
    return replace(row, value=value, system=system)


def index_rows(resource: dict[str, Any], *, blind: Callable[[str], str]) -> list[IndexRow]:
    """Every index row for ``resource`` under the parameters declared for its type.

    Values of parameters marked ``blind`` pass through ``blind`` (a keyed hash) first.
    """
    rows: list[IndexRow] = []
    for param in parameters_for(resource["resourceType"]).values():
        rows.extend(rows_for_parameter(param, resource, blind))
    return rows
