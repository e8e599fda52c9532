"""Walking the references inside a resource (for rewriting urn:uuid and the like)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.search.index import split_reference

Visit = Callable[[dict[str, Any], str], None]


def walk_references(value: Any, path: str, visit: Visit) -> None:
    """Call ``visit(holder, path)`` for every Reference (a dict with a string ``reference``)."""
    if isinstance(value, dict):
        if isinstance(value.get("reference"), str):
            visit(value, path)
        for key, child in value.items():
            if key != "reference":
                walk_references(child, f"{path}.{key}", visit)
    elif isinstance(value, list):
        for i, child in enumerate(value):
            walk_references(child, f"{path}[{i}]", visit)


def references_in(value: Any) -> list[str]:
    """The ``reference`` strings of a Reference or a list of them (one level, not deep)."""
    if isinstance(value, list):
        return [r for item in value for r in references_in(item)]
    if isinstance(value, dict) and isinstance(value.get("reference"), str):
        return [value["reference"]]
    return []


def as_logical(reference: dict[str, Any]) -> dict[str, Any]:
    """A Reference without its literal ``reference``: who or what it names (type,
    identifier, display), for a reference into a system other than this one."""
    logical = {k: v for k, v in reference.items() if k != "reference"}
    ref_type = split_reference(str(reference.get("reference", "")))[0]
    if ref_type is not None:
        logical.setdefault("type", ref_type)
    return logical
