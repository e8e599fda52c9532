"""Where the inbox finds the Questionnaire to render and the Swedish texts of its codes.

Both come from the compiled conformance directory (``profiles/compiled``) that the
validator loads as well, so the form shown is the form the answer is checked against.
A deployment that ships its conformance elsewhere sets ``app.state.inbox_compiled_dir``
to the same directory as its validator's.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.canonical import QUESTIONNAIRE
from gateway.errors import FhirError
from gateway.validation.conformance import DEFAULT_COMPILED_DIR, Conformance
from gateway.validation.factory import shared_conformance


@dataclass(frozen=True)
class Option:
    """One answer a choice offers (or one code of a CodeSystem), with its Swedish text."""

    system: str | None
    code: str
    display: str

    @property
    def value(self) -> str:
        """The option's form value: ``system|code``."""
        return f"{self.system or ''}|{self.code}"

    def coding(self) -> dict[str, Any]:
        coding: dict[str, Any] = {"code": self.code, "display": self.display}
        if self.system:
            coding["system"] = self.system
        return coding


class Terminology:
    """ValueSets and CodeSystems of the compiled directory, with their displays."""

    def __init__(self, compiled_dir: Path) -> None:
        self.value_sets: dict[str, dict[str, Any]] = {}
        self.code_systems: dict[str, dict[str, Any]] = {}
        for path in sorted(compiled_dir.glob("*.json")):
            if not path.name.startswith(("ValueSet-", "CodeSystem-")):
                continue
            resource = json.loads(path.read_text(encoding="utf-8"))
            if resource.get("resourceType") == "ValueSet":
                self.value_sets[resource["url"]] = resource
            elif resource.get("resourceType") == "CodeSystem":
                self.code_systems[resource["url"]] = resource

    def system_concepts(self, url: str) -> list[Option]:
        found: list[Option] = []

        def visit(concepts: list[dict[str, Any]]) -> None:
            for concept in concepts:
                found.append(Option(url, concept["code"], concept.get("display", concept["code"])))
                visit(concept.get("concept") or [])

        visit((self.code_systems.get(url) or {}).get("concept") or [])
        return found

    def display(self, system: str | None, code: str | None) -> str | None:
        return next((o.display for o in self.system_concepts(system or "") if o.code == code), None)

    def options(self, value_set_url: str) -> list[Option]:
        """The ValueSet's codes in their order (compose, less exclude; else its expansion)."""
        value_set = self.value_sets.get(value_set_url.split("|", 1)[0])
        if value_set is None:
            return []
        compose = value_set.get("compose") or {}
        options = self._parts(compose.get("include") or [])
        excluded = {(o.system, o.code) for o in self._parts(compose.get("exclude") or [])}
        options = [o for o in options if (o.system, o.code) not in excluded]
        if not options:
            for entry in (value_set.get("expansion") or {}).get("contains") or []:
                options.append(
                    Option(entry.get("system"), entry["code"], entry.get("display", entry["code"]))
                )
        return options

    def _parts(self, parts: list[dict[str, Any]]) -> list[Option]:
        options: list[Option] = []
        for part in parts:
            system = part.get("system")
            if part.get("concept"):
                for concept in part["concept"]:
                    display = concept.get("display") or self.display(system, concept["code"])
                    options.append(Option(system, concept["code"], display or concept["code"]))
            elif system:
                options.extend(self.system_concepts(system))
            for imported in part.get("valueSet") or []:
                options.extend(self.options(imported))
        return options


@dataclass(frozen=True)
class FormCatalog:
    """The Questionnaires and the terminology of one compiled directory."""

    conformance: Conformance
    terminology: Terminology

    def questionnaire(self, *canonicals: str | None) -> dict[str, Any]:
        """The first of ``canonicals`` that is known (``url|version`` falls back to the
        newest loaded version of ``url``), else the national Questionnaire."""
        for canonical in (*canonicals, QUESTIONNAIRE):
            if canonical:
                found = self.conformance.questionnaire(canonical)
                if found is not None:
                    return found
        raise FhirError.single(
            500, "exception", "Frågeformuläret saknas.", diagnostics="no Questionnaire loaded"
        )


@functools.lru_cache(maxsize=4)
def catalog(compiled_dir: Path = DEFAULT_COMPILED_DIR) -> FormCatalog:
    return FormCatalog(shared_conformance(compiled_dir), Terminology(compiled_dir))
