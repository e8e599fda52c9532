"""The conformance artifacts the validator checks against, loaded once at start-up.

Two sources:

* ``profiles/compiled/`` (our StructureDefinitions, ValueSets, CodeSystems and the
  national Questionnaire, compiled by SUSHI from the FSH in profiles/). Examples and
  the negative tests in ``compiled/invalid/`` are not loaded.
* ``data/r4-core.json``, the part of ``hl7.fhir.r4.core#4.0.1`` the validator needs
  (see :mod:`gateway.validation.core_subset`): core StructureDefinitions of the served
  resource types and data types, and expansions of the core ValueSets bound to them.

Each StructureDefinition's element tree is indexed here (:class:`StructureIndex`), so a
request never reads a snapshot.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.logging import get_logger
from gateway.validation.elements import StructureIndex
from gateway.validation.terminology import Terminology, canonical_url

log = get_logger(__name__)

CORE_SUBSET = Path(__file__).parent / "data" / "r4-core.json"
DEFAULT_COMPILED_DIR = Path(__file__).resolve().parents[2] / "profiles" / "compiled"
CORE_BASE = "http://hl7.org/fhir/StructureDefinition/"
LOADED_TYPES = frozenset({"StructureDefinition", "ValueSet", "CodeSystem", "Questionnaire"})


def core_profile(resource_type: str) -> str:
    return f"{CORE_BASE}{resource_type}"


@dataclass
class Conformance:
    structures: dict[str, StructureIndex]
    """url -> index, for our profiles and extensions and the core types."""
    local_profiles: frozenset[str]
    """URLs of our own StructureDefinitions (from profiles/compiled)."""
    questionnaires: dict[str, dict[str, Any]]
    """Questionnaires by url and by url|version."""
    terminology: Terminology
    value_set_titles: dict[str, str] = field(default_factory=dict)

    def structure(self, url: str) -> StructureIndex | None:
        return self.structures.get(canonical_url(url))

    def datatype(self, type_code: str) -> StructureIndex | None:
        return self.structures.get(f"{CORE_BASE}{type_code}")

    def questionnaire(self, canonical: str) -> dict[str, Any] | None:
        return self.questionnaires.get(canonical) or self.questionnaires.get(
            canonical_url(canonical)
        )

    def profile_type(self, url: str) -> str | None:
        """The resource or data type a profile constrains."""
        index = self.structure(url)
        return index.type if index is not None else None


def _read_json_dir(directory: Path) -> list[dict[str, Any]]:
    resources: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.json")):
        try:
            resource = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise RuntimeError(f"cannot read conformance resource {path.name}") from error
        if isinstance(resource, dict) and resource.get("resourceType") in LOADED_TYPES:
            resources.append(resource)
    return resources


def load_conformance(
    compiled_dir: Path | None = DEFAULT_COMPILED_DIR,
    core_subset: Path = CORE_SUBSET,
    extra: Iterable[Mapping[str, Any]] = (),
) -> Conformance:
    """Load and index everything. ``extra`` adds resources (tests use it for fixtures)."""
    core = json.loads(core_subset.read_text(encoding="utf-8"))
    local: list[dict[str, Any]] = []
    if compiled_dir is not None and compiled_dir.is_dir():
        local = _read_json_dir(compiled_dir)
    elif compiled_dir is not None:
        log.warning("profiles_not_found", directory=str(compiled_dir))
    local.extend(dict(r) for r in extra)

    structures: dict[str, StructureIndex] = {}
    for sd in core["structureDefinitions"]:
        structures[sd["url"]] = StructureIndex.build(sd)
    local_profiles: set[str] = set()
    value_sets: dict[str, dict[str, Any]] = {}
    code_systems: dict[str, dict[str, Any]] = {}
    questionnaires: dict[str, dict[str, Any]] = {}
    titles: dict[str, str] = {}
    for resource in local:
        kind = resource["resourceType"]
        url = resource.get("url")
        if not isinstance(url, str):
            continue
        if kind == "StructureDefinition" and "snapshot" in resource:
            structures[url] = StructureIndex.build(resource)
            local_profiles.add(url)
        elif kind == "ValueSet":
            value_sets[url] = resource
            titles[url] = str(resource.get("title") or resource.get("name") or url)
        elif kind == "CodeSystem":
            code_systems[url] = resource
        elif kind == "Questionnaire":
            questionnaires[url] = resource
            if resource.get("version"):
                questionnaires[f"{url}|{resource['version']}"] = resource

    packaged = {
        url: {system: frozenset(codes) for system, codes in by_system.items()}
        for url, by_system in core["valueSetExpansions"].items()
    }
    packaged_systems = {url: frozenset(codes) for url, codes in core["codeSystems"].items()}
    terminology = Terminology(value_sets, code_systems, packaged, packaged_systems)
    bound = {b for index in structures.values() for b in index.bound_value_sets()}
    terminology.preload(sorted(bound))
    return Conformance(
        structures=structures,
        local_profiles=frozenset(local_profiles),
        questionnaires=questionnaires,
        terminology=terminology,
        value_set_titles=titles,
    )
