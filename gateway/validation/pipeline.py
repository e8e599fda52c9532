"""The validation pipeline every incoming resource passes before it is stored.

Validators are pluggable steps (in the spirit of HAPI FHIR's interceptors): each returns
issues, and any issue of severity error or fatal refuses the write with 422.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from gateway.errors import FhirError, Issue, Severity
from gateway.validation.structure import structure_issues


class ResourceValidator(Protocol):
    def __call__(self, resource: dict[str, Any]) -> list[Issue]: ...


def is_blocking(issue: Issue) -> bool:
    return issue.severity in (Severity.ERROR, Severity.FATAL)


class ValidationPipeline:
    def __init__(self, steps: Sequence[ResourceValidator] = (structure_issues,)) -> None:
        self.steps = list(steps)

    def issues(self, resource: dict[str, Any]) -> list[Issue]:
        found: list[Issue] = []
        for step in self.steps:
            found.extend(step(resource))
            if any(is_blocking(i) for i in found) and step is structure_issues:
                break  # later steps assume a structurally valid resource
        return found

    def check(self, resource: dict[str, Any]) -> None:
        """Raise 422 with every issue when the resource may not be stored."""
        found = self.issues(resource)
        if any(is_blocking(i) for i in found):
            raise FhirError(422, found)
