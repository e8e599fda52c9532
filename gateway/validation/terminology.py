"""ValueSet expansion and code membership, for required and extensible bindings.

Everything is local: the gateway's own CodeSystems and ValueSets (profiles/compiled) and
the core expansions packaged in ``data/r4-core.json`` (made by
:mod:`gateway.validation.core_subset` from ``hl7.fhir.r4.core#4.0.1``). No terminology
server is asked. A ValueSet that cannot be expanded locally (filters on an external code
system, SNOMED CT, MIME types …) gives ``None``: the binding is then not checked, rather
than refused on a guess.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

Expansion = dict[str, frozenset[str]]
"""system -> the codes of that system in the ValueSet."""


def canonical_url(reference: str) -> str:
    """A canonical reference without its ``|version`` suffix."""
    return reference.split("|", 1)[0]


def all_codes(code_system: Mapping[str, Any]) -> frozenset[str] | None:
    """Every code of a CodeSystem resource (nested concepts included), or ``None`` when the
    resource does not hold its complete content."""
    if code_system.get("content") not in (None, "complete"):
        return None
    found: set[str] = set()

    def visit(concepts: Iterable[Mapping[str, Any]]) -> None:
        for concept in concepts:
            code = concept.get("code")
            if isinstance(code, str):
                found.add(code)
            visit(concept.get("concept") or [])

    visit(code_system.get("concept") or [])
    return frozenset(found)


def expand(
    value_set: Mapping[str, Any],
    system_codes: Callable[[str], frozenset[str] | None],
    value_set_expansion: Callable[[str], Expansion | None],
) -> Expansion | None:
    """Expand ``value_set`` from its ``compose`` (or its stored ``expansion``).

    ``system_codes(url)`` gives all codes of a CodeSystem (or ``None`` if unknown);
    ``value_set_expansion(url)`` expands an imported ValueSet. ``None`` when any part
    cannot be expanded locally.
    """
    compose = value_set.get("compose")
    if not isinstance(compose, Mapping):
        return _stored_expansion(value_set)
    included = _combine(compose.get("include") or [], system_codes, value_set_expansion)
    if included is None:
        return None
    excluded = _combine(compose.get("exclude") or [], system_codes, value_set_expansion)
    if excluded is None:
        return None if compose.get("exclude") else included
    return {
        system: codes - excluded.get(system, frozenset())
        for system, codes in included.items()
        if codes - excluded.get(system, frozenset())
    }


def _stored_expansion(value_set: Mapping[str, Any]) -> Expansion | None:
    expansion = value_set.get("expansion")
    if not isinstance(expansion, Mapping):
        return None
    found: dict[str, set[str]] = {}

    def visit(contains: Iterable[Mapping[str, Any]]) -> None:
        for item in contains:
            if isinstance(item.get("system"), str) and isinstance(item.get("code"), str):
                found.setdefault(item["system"], set()).add(item["code"])
            visit(item.get("contains") or [])

    visit(expansion.get("contains") or [])
    return {system: frozenset(codes) for system, codes in found.items()}


def _combine(
    parts: Iterable[Mapping[str, Any]],
    system_codes: Callable[[str], frozenset[str] | None],
    value_set_expansion: Callable[[str], Expansion | None],
) -> Expansion | None:
    result: dict[str, frozenset[str]] = {}
    for part in parts:
        codes = _one_part(part, system_codes, value_set_expansion)
        if codes is None:
            return None
        for system, values in codes.items():
            result[system] = result.get(system, frozenset()) | values
    return result


def _one_part(
    part: Mapping[str, Any],
    system_codes: Callable[[str], frozenset[str] | None],
    value_set_expansion: Callable[[str], Expansion | None],
) -> Expansion | None:
    if part.get("filter"):
        return None  # hierarchies and properties of external systems are not evaluated here
    system = part.get("system")
    selected: Expansion | None = None
    if isinstance(system, str):
        if part.get("concept"):
            codes = frozenset(str(c.get("code")) for c in part["concept"] if c.get("code"))
        else:
            known = system_codes(system)
            if known is None:
                return None
            codes = known
        selected = {system: codes}
    for imported in part.get("valueSet") or []:
        expansion = value_set_expansion(canonical_url(str(imported)))
        if expansion is None:
            return None
        if selected is None:
            selected = dict(expansion)
        else:  # include = system codes AND every imported ValueSet (intersection)
            selected = {s: c & expansion.get(s, frozenset()) for s, c in selected.items()}
    return selected


class Terminology:
    """Membership tests against ValueSets, expanded lazily and cached."""

    def __init__(
        self,
        value_sets: Mapping[str, Mapping[str, Any]],
        code_systems: Mapping[str, Mapping[str, Any]],
        packaged_expansions: Mapping[str, Expansion] | None = None,
        packaged_code_systems: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        self._value_sets = dict(value_sets)
        self._code_systems = dict(code_systems)
        self._packaged = dict(packaged_expansions or {})
        self._packaged_systems = dict(packaged_code_systems or {})
        self._cache: dict[str, Expansion | None] = {}
        self._in_progress: set[str] = set()

    def system_codes(self, url: str) -> frozenset[str] | None:
        local = self._code_systems.get(url)
        if local is not None:
            return all_codes(local)
        return self._packaged_systems.get(url)

    def expansion(self, value_set_url: str) -> Expansion | None:
        url = canonical_url(value_set_url)
        if url in self._cache:
            return self._cache[url]
        if url in self._in_progress:  # a cycle of imports cannot be expanded
            return None
        self._in_progress.add(url)
        try:
            local = self._value_sets.get(url)
            if local is not None:
                result = expand(local, self.system_codes, self.expansion)
            else:
                result = self._packaged.get(url)
        finally:
            self._in_progress.discard(url)
        self._cache[url] = result
        return result

    def knows(self, value_set_url: str) -> bool:
        return self.expansion(value_set_url) is not None

    def contains_code(self, value_set_url: str, code: str) -> bool | None:
        """For ``code`` elements: is ``code`` in the ValueSet (any system)? ``None`` = unknown."""
        expansion = self.expansion(value_set_url)
        if expansion is None:
            return None
        return any(code in codes for codes in expansion.values())

    def contains_coding(
        self, value_set_url: str, system: str | None, code: str | None
    ) -> bool | None:
        expansion = self.expansion(value_set_url)
        if expansion is None:
            return None
        if system is None or code is None:
            return False
        return code in expansion.get(system, frozenset())

    def preload(self, urls: Iterable[str]) -> None:
        """Expand ``urls`` now (at start-up) rather than on the first request."""
        for url in urls:
            self.expansion(url)
