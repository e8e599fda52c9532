"""The validation pipeline every incoming resource passes before it is stored.

Validators are pluggable steps (in the spirit of HAPI FHIR's interceptors): each returns
issues, and any issue of severity error or fatal refuses the write with 422. The steps
the app uses are assembled by :func:`gateway.validation.factory.build_validator`.

A Bundle is checked as a whole by the steps, and then each ``entry.resource`` is checked
on its own by every step but the structural one (which has parsed the entries already);
the issues of an entry are placed under ``Bundle.entry[i].resource``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from gateway.errors import FhirError, Issue, Severity
from gateway.validation.options import ValidationOptions, validation_options
from gateway.validation.structure import structure_issues


class ResourceValidator(Protocol):
    def __call__(self, resource: dict[str, Any]) -> list[Issue]: ...


def is_blocking(issue: Issue) -> bool:
    return issue.severity in (Severity.ERROR, Severity.FATAL)


def relocate(issue: Issue, resource_type: str, prefix: str) -> Issue:
    """``ServiceRequest.status`` -> ``Bundle.entry[1].resource.status``."""
    moved: list[str] = []
    for expression in issue.expression or (resource_type,):
        if expression == resource_type:
            moved.append(prefix)
        elif expression.startswith(f"{resource_type}."):
            moved.append(prefix + expression[len(resource_type) :])
        else:
            moved.append(f"{prefix}.{expression}")
    return Issue(issue.code, issue.text_sv, issue.severity, tuple(moved), issue.diagnostics)


def _dedupe(issues: Iterable[Issue]) -> list[Issue]:
    seen: set[tuple[str, str, str, tuple[str, ...]]] = set()
    unique: list[Issue] = []
    for issue in issues:
        key = (issue.code, issue.text_sv, issue.severity.value, issue.expression)
        if key not in seen:
            seen.add(key)
            unique.append(issue)
    return unique


class ValidationPipeline:
    def __init__(self, steps: Sequence[ResourceValidator] = (structure_issues,)) -> None:
        self.steps = list(steps)

    def issues(
        self,
        resource: dict[str, Any],
        *,
        profiles: Sequence[str] = (),
        strict: bool = False,
    ) -> list[Issue]:
        """Every issue of ``resource``. ``profiles`` are checked besides those it claims;
        ``strict`` also holds it to our default profile for its type."""
        with validation_options(ValidationOptions(tuple(profiles), strict)):
            return _dedupe(self._run(resource, with_structure=True))

    def _run(self, resource: dict[str, Any], *, with_structure: bool) -> list[Issue]:
        found: list[Issue] = []
        for step in self.steps:
            if step is structure_issues and not with_structure:
                continue
            found.extend(step(resource))
            if step is structure_issues and any(is_blocking(i) for i in found):
                return found  # later steps assume a structurally valid resource
        if resource.get("resourceType") == "Bundle":
            for i, entry in enumerate(resource.get("entry") or []):
                inner = entry.get("resource") if isinstance(entry, dict) else None
                if isinstance(inner, dict):
                    inner_type = str(inner.get("resourceType"))
                    prefix = f"Bundle.entry[{i}].resource"
                    found.extend(
                        relocate(issue, inner_type, prefix)
                        for issue in self._run(inner, with_structure=False)
                    )
        return found

    def check_structure(self, resource: dict[str, Any]) -> None:
        """Raise 422 when the resource does not parse as its FHIR R4 model (the first of
        :meth:`check`'s steps alone)."""
        found = [issue for issue in structure_issues(resource) if is_blocking(issue)]
        if found:
            raise FhirError(422, found)

    def check(
        self, resource: dict[str, Any], *, profiles: Sequence[str] = (), strict: bool = False
    ) -> None:
        """Raise 422 with every issue when the resource may not be stored."""
        found = self.issues(resource, profiles=profiles, strict=strict)
        if any(is_blocking(i) for i in found):
            raise FhirError(422, found)
