"""Pipeline step: Swedish identifiers anywhere in a resource.

Every ``Identifier`` (also inside a Reference, a contained resource or a backbone
element) whose system is one :mod:`gateway.validation.identifiers` knows is checked:
personnummer and samordningsnummer (form, real date, Luhn), HSA-id, organisationsnummer
(Luhn), kommunkod and länskod (SCB reference lists), reservnummer. The Swedish text comes
from that module and never contains the value.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any

from gateway.errors import Issue, Severity
from gateway.validation.identifiers import KNOWN_SYSTEMS, check_identifier


class IdentifierValidator:
    def __init__(self, today: Callable[[], datetime.date] | None = None) -> None:
        self._today = today

    def __call__(self, resource: dict[str, Any]) -> list[Issue]:
        issues: list[Issue] = []
        today = self._today() if self._today is not None else None
        resource_type = str(resource.get("resourceType"))
        self._visit(resource, resource_type, issues, today, top=True)
        return issues

    def _visit(
        self,
        node: Mapping[str, Any],
        path: str,
        issues: list[Issue],
        today: datetime.date | None,
        *,
        top: bool = False,
    ) -> None:
        for key, value in node.items():
            if top and key == "entry" and node.get("resourceType") == "Bundle":
                continue  # the pipeline validates each entry's resource on its own
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, Mapping):
                        self._one(key, item, f"{path}.{key}[{i}]", issues, today)
            elif isinstance(value, Mapping):
                self._one(key, value, f"{path}.{key}", issues, today)

    def _one(
        self,
        key: str,
        node: Mapping[str, Any],
        path: str,
        issues: list[Issue],
        today: datetime.date | None,
    ) -> None:
        system = node.get("system")
        value = node.get("value")
        if key == "identifier" and system in KNOWN_SYSTEMS and isinstance(value, str):
            problem = check_identifier(str(system), value, today=today)
            if problem is not None:
                issues.append(
                    Issue(
                        code="value",
                        text_sv=problem.text_sv,
                        severity=Severity.ERROR,
                        expression=(f"{path}.value",),
                        diagnostics=f"identifier check failed: {problem.code}",
                    )
                )
        self._visit(node, path, issues, today)
