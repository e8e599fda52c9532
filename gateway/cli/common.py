"""What every CLI command shares: one-line user errors and settings loading."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from gateway.errors import FhirError
from gateway.settings import Settings, get_settings


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"kv-gateway: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a user can cause into one line and exit code 1."""
    try:
        yield
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        label = f"KVGW_{where.upper()}: " if where else ""
        fail(f"invalid configuration: {label}{first['msg']}")
    except SQLAlchemyError as error:
        fail(f"database error: {type(error).__name__}: {str(error).splitlines()[0]}")
    except FhirError as error:
        fail("; ".join(i.diagnostics or i.text_sv for i in error.issues))
    except (OSError, ValueError) as error:
        fail(str(error))


def require_values(values: dict[str, str | None]) -> None:
    """Refuse an empty or blank argument or option, before anything is opened or written.

    ``values`` maps each name as ``--help`` shows it (``service``, ``--valid-from``) to
    what was given; an option left out (None) is no value given, and is not refused.
    """
    for name, value in values.items():
        if value is not None and not value.strip():
            fail(f"{name} must not be empty")


def settings_or_fail() -> Settings:
    with user_errors():
        return get_settings()
    raise AssertionError("unreachable")
