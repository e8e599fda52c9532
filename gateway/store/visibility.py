"""Which current resources a search or history may return: all, none, or one party's.

Filtering happens in SQL, before paging and counting, so neither a page nor a total ever
reveals another party's resources.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, SQLColumnExpression, exists, false, true

from gateway.security.models import ResourceParty


@dataclass(frozen=True)
class Visibility:
    everything: bool = False
    party: str | None = None  # with everything False and party None: nothing

    def condition(
        self, res_type: SQLColumnExpression[str], res_id: SQLColumnExpression[str]
    ) -> ColumnElement[bool]:
        if self.everything:
            return true()
        if self.party is None:
            return false()
        return granted_to(res_type, res_id, self.party)


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


def of_party(party: str) -> Visibility:
    return Visibility(party=party)
