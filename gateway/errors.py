"""Errors that reach a caller as a FHIR OperationOutcome.

Any layer may raise a :class:`FhirError`; the API renders it. ``text_sv`` is read by a
socialsekreterare or a rehabkoordinator, so it is Swedish and plain. ``diagnostics`` is
for the integrating developer and is English. Neither may contain patient data: never
interpolate a submitted value into them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    FATAL = "fatal"
    ERROR = "error"
    WARNING = "warning"
    INFORMATION = "information"


@dataclass(frozen=True)
class Issue:
    """One OperationOutcome.issue. ``code`` is from the FHIR issue-type ValueSet."""

    code: str
    text_sv: str
    severity: Severity = Severity.ERROR
    expression: tuple[str, ...] = ()
    diagnostics: str | None = None

    def at(self, prefix: str) -> Issue:
        """The same issue with every expression placed under ``prefix`` (for Bundle entries)."""
        moved = tuple(f"{prefix}.{e}" if e else prefix for e in self.expression) or (prefix,)
        return Issue(self.code, self.text_sv, self.severity, moved, self.diagnostics)


@dataclass
class FhirError(Exception):
    """A failure with an HTTP status and the issues that explain it."""

    status: int
    issues: list[Issue] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.status, [i.code for i in self.issues])

    @classmethod
    def single(
        cls,
        status: int,
        code: str,
        text_sv: str,
        *,
        expression: str | None = None,
        diagnostics: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> FhirError:
        expressions = (expression,) if expression else ()
        issue = Issue(code, text_sv, Severity.ERROR, expressions, diagnostics)
        return cls(status, [issue], dict(headers or {}))


def not_found(
    resource_type: str, resource_id: str | None = None, *, version: bool = False
) -> FhirError:
    """404 for ``resource_type``: for one resource when ``resource_id`` is given, for one
    version of it with ``version``. The id is not repeated: it comes from the URL and may
    be shaped like a personnummer (``Patient/199001011234``)."""
    what = resource_type
    if resource_id:
        what += " with that id and version" if version else " with that id"
    return FhirError.single(
        404,
        "not-found",
        "Resursen finns inte, eller så saknar du behörighet att se den.",
        diagnostics=f"{what} is not known to this server",
    )


def gone(resource_type: str) -> FhirError:
    """410 for a deleted resource of ``resource_type``; its id is not repeated, as in
    :func:`not_found`."""
    return FhirError.single(
        410,
        "deleted",
        "Resursen har tagits bort och finns inte längre.",
        diagnostics=f"{resource_type} with that id was deleted",
    )


def version_conflict(expected: str, actual: str) -> FhirError:
    return FhirError.single(
        412,
        "conflict",
        "Någon annan har ändrat resursen under tiden. Hämta den senaste versionen och försök igen.",
        diagnostics=f"If-Match expected version {expected} but the current version is {actual}",
    )


def changed_meanwhile(resource_type: str) -> FhirError:
    """An update whose checks read a version that another change has since replaced."""
    return FhirError.single(
        409,
        "conflict",
        "Någon annan ändrade resursen samtidigt. Hämta den senaste versionen och försök igen.",
        expression=resource_type,
        diagnostics="the resource changed while this update was checked",
    )


def invalid(
    text_sv: str, expression: str | None = None, diagnostics: str | None = None
) -> FhirError:
    return FhirError.single(400, "invalid", text_sv, expression=expression, diagnostics=diagnostics)
