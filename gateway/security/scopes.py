"""SMART v2 system scopes (``system/Task.rus``), and SMART v1 forms mapped onto them."""

from __future__ import annotations

import re
from collections.abc import Iterable

_SCOPE = re.compile(r"^system/(?P<type>\*|[A-Z][A-Za-z]+)\.(?P<perms>[cruds]+|read|write|\*)$")
_V1 = {"read": "rs", "write": "cud", "*": "cruds"}
ORDER = "cruds"


def parse_scope(scope: str) -> tuple[str, str] | None:
    """``system/Task.rus`` -> ("Task", "rus"); None if it is not a system scope we know."""
    match = _SCOPE.match(scope)
    if not match:
        return None
    perms = _V1.get(match.group("perms"), match.group("perms"))
    if "".join(sorted(set(perms), key=ORDER.index)) != perms and perms not in _V1.values():
        return None
    return match.group("type"), perms


def covers(granted: str, requested: str) -> bool:
    g, r = parse_scope(granted), parse_scope(requested)
    if g is None or r is None:
        return False
    return g[0] in ("*", r[0]) and set(r[1]) <= set(g[1])


def grant(requested: Iterable[str], allowed: Iterable[str]) -> list[str]:
    """The requested scopes that some allowed scope covers (the SMART server may narrow)."""
    allowed_list = list(allowed)
    return [s for s in requested if any(covers(a, s) for a in allowed_list)]


def permits(scopes: Iterable[str], resource_type: str, permission: str) -> bool:
    for scope in scopes:
        parsed = parse_scope(scope)
        if parsed and parsed[0] in ("*", resource_type) and permission in parsed[1]:
            return True
    return False
