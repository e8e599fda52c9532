"""Which current resources a search or history may return: all, none, or one party's
(and, for a type some of whose resources are shared, those granted to no party, or those
granted to every party, :data:`EVERY_PARTY`).

Filtering happens in SQL, before paging and counting, so neither a page nor a total ever
reveals another party's resources.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, SQLColumnExpression, exists, false, or_, true

from gateway.security.models import ResourceParty

# A grant to every party: a directory entry of a type whose other resources are their
# registrar's own (a region's Practitioner, not a kommun's, gateway.security.tenancy). No
# client acts for it: a party is an Organization reference (gateway.security.clients).
EVERY_PARTY = "*"


@dataclass(frozen=True)
class Visibility:
    everything: bool = False
    party: str | None = None  # with everything False and party None: nothing
    # Also what is granted to no party: a type whose resources are shared unless a party
    # holds them as its own (a kommun's PractitionerRoles, gateway.security.tenancy).
    unclaimed: bool = False
    # Also what is granted to EVERY_PARTY: a type whose resources are shared only when
    # so marked (Practitioner, gateway.security.tenancy).
    public: bool = False

    def admits(self, parties: Collection[str]) -> bool:
        """Whether a resource granted to ``parties`` is visible."""
        return (
            self.everything
            or (self.party is not None and self.party in parties)
            or (self.party is not None and self.public and EVERY_PARTY in parties)
            or (self.unclaimed and not parties)
        )

    def condition(
        self, res_type: SQLColumnExpression[str], res_id: SQLColumnExpression[str]
    ) -> ColumnElement[bool]:
        if self.everything:
            return true()
        if self.party is None:
            return false()
        return seen_by_party(
            res_type, res_id, self.party, unclaimed=self.unclaimed, public=self.public
        )


def seen_by_party(
    res_type: SQLColumnExpression[str],
    res_id: SQLColumnExpression[str],
    party: str | BindParameter[Any],
    *,
    unclaimed: bool,
    public: bool = False,
) -> ColumnElement[bool]:
    """Granted to ``party``, or (with ``unclaimed``) granted to no party at all, or (with
    ``public``) granted to :data:`EVERY_PARTY`: one lookup of the grants' key either way."""
    if public:
        return exists().where(
            ResourceParty.res_type == res_type,
            ResourceParty.res_id == res_id,
            ResourceParty.party.in_([party, EVERY_PARTY]),
        )
    granted = granted_to(res_type, res_id, party)
    if not unclaimed:
        return granted
    claimed = exists().where(ResourceParty.res_type == res_type, ResourceParty.res_id == res_id)
    return or_(granted, ~claimed)


def granted_to(
    res_type: SQLColumnExpression[str],
    res_id: SQLColumnExpression[str],
    party: str | BindParameter[Any],
) -> ColumnElement[bool]:
    """The resource is granted to ``party`` (a value, or a bind parameter for statements
    built once and run for any party)."""
    return exists().where(
        ResourceParty.res_type == res_type,
        ResourceParty.res_id == res_id,
        ResourceParty.party == party,
    )


EVERYTHING = Visibility(everything=True)
NOTHING = Visibility()


def of_party(party: str, *, unclaimed: bool = False, public: bool = False) -> Visibility:
    return Visibility(party=party, unclaimed=unclaimed, public=public)
