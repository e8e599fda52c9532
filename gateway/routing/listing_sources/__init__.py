"""Listing sources: where the resolver asks which care unit a person is listed at.

Each source answers with the listings it knows (:class:`SourceAnswer`) or raises
:class:`SourceUnavailable`. Sources know nothing about the directory or routing; they
never log or raise with a person identifier.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Protocol

from gateway.routing.person import PersonId

PROTECTED_IDENTITY_CODES = frozenset({"sekretessmarkering", "skyddadFolkbokforing"})


@dataclass(frozen=True)
class Listing:
    """One listing as a source reported it."""

    hsa_id: str
    listing_type: str
    valid_from: datetime.date | None
    valid_to: datetime.date | None
    source: str
    lanskod: str | None = None

    def is_current(self, today: datetime.date) -> bool:
        if self.valid_from is not None and self.valid_from > today:
            return False
        return self.valid_to is None or self.valid_to >= today


@dataclass(frozen=True)
class SourceAnswer:
    source: str
    listings: tuple[Listing, ...] = ()
    protected_identity: bool = False
    notes: tuple[str, ...] = field(default=())  # machine codes, e.g. "rivta-info"


class SourceUnavailable(Exception):  # noqa: N818 - the outcome's name in the domain
    """The source could not answer now; the caller should retry later.

    ``reason`` is a machine code (``timeout``, ``soap-fault``, ``malformed-response`` …),
    ``detail`` an English explanation without any person data.
    """

    def __init__(self, source: str, reason: str, detail: str = "") -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason
        self.detail = detail


class ListingSource(Protocol):
    name: str

    def lookup(self, person: PersonId, home_lanskod: str) -> SourceAnswer: ...
