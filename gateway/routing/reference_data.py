"""Typed, validated access to the Swedish län/region and kommun reference data.

The data lives as CSV files in :mod:`gateway.routing.reference` (see ``SOURCES.md`` there).
The files are read once through :mod:`importlib.resources`, checked for well-formed and
consistent codes, and cached. A broken file raises :class:`ReferenceDataError` on first use,
naming the file and line.

Codes are always strings: a kommunkod is 4 digits (SCB), its first two digits are the
länskod (2 digits) of the län/region it belongs to.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

__all__ = [
    "Kommun",
    "ReferenceDataError",
    "Region",
    "kommun",
    "kommuner",
    "kommuner_in_region",
    "parse_kommuner",
    "parse_regions",
    "region",
    "region_for_kommun",
    "regions",
]

_PACKAGE = "gateway.routing.reference"
REGIONS_FILE = "regioner.csv"
KOMMUNER_FILE = "kommuner.csv"

REGIONS_HEADER = ("lanskod", "lan", "region")
KOMMUNER_HEADER = ("kommunkod", "kommun", "lanskod")

_LANSKOD_RE = re.compile(r"[0-9]{2}")
_KOMMUNKOD_RE = re.compile(r"[0-9]{4}")


class ReferenceDataError(ValueError):
    """The packaged reference data is malformed or inconsistent."""


@dataclass(frozen=True, slots=True)
class Region:
    """A län and the region (regional healthcare authority) that serves it."""

    lanskod: str
    """Two-digit SCB länskod, e.g. ``"01"``."""
    lan: str
    """Name of the län, e.g. ``"Stockholms län"``."""
    name: str
    """Name of the region, e.g. ``"Region Stockholm"``."""


@dataclass(frozen=True, slots=True)
class Kommun:
    """A Swedish kommun (municipality)."""

    kommunkod: str
    """Four-digit SCB kommunkod, e.g. ``"0180"``."""
    name: str
    """Name of the kommun, e.g. ``"Stockholm"``."""
    lanskod: str
    """Two-digit länskod of the län the kommun belongs to (= first two digits of the code)."""


def _rows(
    lines: Iterable[str], header: tuple[str, ...], source: str
) -> Iterable[tuple[int, list[str]]]:
    reader = csv.reader(lines)
    first = next(reader, None)
    if first is None:
        raise ReferenceDataError(f"{source}: file is empty")
    if tuple(first) != header:
        raise ReferenceDataError(
            f"{source}: expected header {','.join(header)!r}, got {','.join(first)!r}"
        )
    for row in reader:
        line = reader.line_num
        if not row:
            continue
        if len(row) != len(header):
            raise ReferenceDataError(
                f"{source}:{line}: expected {len(header)} fields, got {len(row)}"
            )
        if any(field != field.strip() or not field for field in row):
            raise ReferenceDataError(
                f"{source}:{line}: empty field or surrounding whitespace in {row!r}"
            )
        yield line, row


def parse_regions(lines: Iterable[str], source: str = REGIONS_FILE) -> dict[str, Region]:
    """Parse and check ``regioner.csv`` content. Raises :class:`ReferenceDataError`."""
    result: dict[str, Region] = {}
    for line, (lanskod, lan, name) in _rows(lines, REGIONS_HEADER, source):
        if not _LANSKOD_RE.fullmatch(lanskod) or lanskod == "00":
            raise ReferenceDataError(f"{source}:{line}: malformed länskod {lanskod!r}")
        if lanskod in result:
            raise ReferenceDataError(f"{source}:{line}: duplicate länskod {lanskod!r}")
        result[lanskod] = Region(lanskod=lanskod, lan=lan, name=name)
    if not result:
        raise ReferenceDataError(f"{source}: no regions")
    return result


def parse_kommuner(
    lines: Iterable[str],
    known_regions: Mapping[str, Region],
    source: str = KOMMUNER_FILE,
) -> dict[str, Kommun]:
    """Parse and check ``kommuner.csv`` content against the regions.

    Checks: 4-digit codes, unique codes, the ``lanskod`` column equals the code's first two
    digits and names a known region, and every region has at least one kommun.
    Raises :class:`ReferenceDataError`.
    """
    result: dict[str, Kommun] = {}
    for line, (kommunkod, name, lanskod) in _rows(lines, KOMMUNER_HEADER, source):
        if not _KOMMUNKOD_RE.fullmatch(kommunkod):
            raise ReferenceDataError(f"{source}:{line}: malformed kommunkod {kommunkod!r}")
        if kommunkod in result:
            raise ReferenceDataError(f"{source}:{line}: duplicate kommunkod {kommunkod!r}")
        if kommunkod[:2] != lanskod:
            raise ReferenceDataError(
                f"{source}:{line}: kommunkod {kommunkod!r} does not start with its "
                f"länskod {lanskod!r}"
            )
        if lanskod not in known_regions:
            raise ReferenceDataError(f"{source}:{line}: unknown länskod {lanskod!r}")
        result[kommunkod] = Kommun(kommunkod=kommunkod, name=name, lanskod=lanskod)
    empty = sorted(set(known_regions) - {k.lanskod for k in result.values()})
    if empty:
        raise ReferenceDataError(f"{source}: no kommuner for länskod {', '.join(empty)}")
    return result


def _read(name: str) -> list[str]:
    text = resources.files(_PACKAGE).joinpath(name).read_text(encoding="utf-8")
    return text.splitlines()


@functools.cache
def _regions() -> Mapping[str, Region]:
    return MappingProxyType(parse_regions(_read(REGIONS_FILE)))


@functools.cache
def _kommuner() -> Mapping[str, Kommun]:
    return MappingProxyType(parse_kommuner(_read(KOMMUNER_FILE), _regions()))


def regions() -> dict[str, Region]:
    """All 21 regions keyed by länskod (a fresh dict; the cached data stays read-only)."""
    return dict(_regions())


def kommuner() -> dict[str, Kommun]:
    """All 290 kommuner keyed by kommunkod (a fresh dict; the cached data stays read-only)."""
    return dict(_kommuner())


def region(lanskod: str) -> Region | None:
    """The region with this länskod, or ``None``."""
    return _regions().get(lanskod)


def kommun(kod: str) -> Kommun | None:
    """The kommun with this kommunkod, or ``None`` if there is none."""
    return _kommuner().get(kod)


def region_for_kommun(kod: str) -> Region | None:
    """The region (län) a kommun belongs to, or ``None`` for an unknown kommunkod."""
    found = _kommuner().get(kod)
    if found is None:
        return None
    return _regions()[found.lanskod]


def kommuner_in_region(lanskod: str) -> list[Kommun]:
    """The kommuner of one län, ordered by kommunkod (empty for an unknown länskod)."""
    return sorted(
        (k for k in _kommuner().values() if k.lanskod == lanskod), key=lambda k: k.kommunkod
    )
