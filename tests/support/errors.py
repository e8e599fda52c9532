"""Errors as the gateway's own code raises them, for tables of refusals."""

from __future__ import annotations

from collections.abc import Callable

from gateway.errors import FhirError


def raised(refuse: Callable[[], object]) -> FhirError:
    """The FhirError that ``refuse`` raises (AssertionError if it raises none)."""
    try:
        refuse()
    except FhirError as error:
        return error
    raise AssertionError("not refused")
