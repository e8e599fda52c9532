"""Per-call validation options, visible to every pipeline step.

Steps keep the simple signature ``(resource) -> list[Issue]``; what a caller asks for on
one call (``$validate`` with ``profile``, strict mode) travels in a context variable that
:meth:`gateway.validation.pipeline.ValidationPipeline.issues` sets for the call's duration.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class ValidationOptions:
    profiles: tuple[str, ...] = ()
    """Profiles to check besides those the resource claims."""
    strict: bool = False
    """Also hold the resource to our default profile for its type."""


DEFAULT_OPTIONS = ValidationOptions()
_OPTIONS: ContextVar[ValidationOptions] = ContextVar("kv_validation_options")


def current_options() -> ValidationOptions:
    return _OPTIONS.get(DEFAULT_OPTIONS)


@contextmanager
def validation_options(options: ValidationOptions) -> Iterator[None]:
    token = _OPTIONS.set(options)
    try:
        yield
    finally:
        _OPTIONS.reset(token)
