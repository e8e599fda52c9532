"""The ``kv-gateway`` command line: serve, db, seed, config, version.

A user error prints one clear line to stderr and exits non-zero; no tracebacks.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from gateway import __version__
from gateway.errors import FhirError
from gateway.settings import AuthMode, Settings, get_settings

app = typer.Typer(
    help="kv-gateway: kommun–vård gateway for requests for a medicinskt utlåtande.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
seed_app = typer.Typer(help="Seed data.", no_args_is_help=True)
config_app = typer.Typer(help="Configuration.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(seed_app, name="seed")
app.add_typer(config_app, name="config")


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
        fail(f"invalid configuration: KVGW_{where.upper()}: {first['msg']}")
    except SQLAlchemyError as error:
        fail(f"database error: {type(error).__name__}: {str(error).splitlines()[0]}")
    except FhirError as error:
        fail("; ".join(i.diagnostics or i.text_sv for i in error.issues))
    except (OSError, ValueError) as error:
        fail(str(error))


def _settings() -> Settings:
    with user_errors():
        return get_settings()
    raise AssertionError("unreachable")


def _database_url(settings: Settings) -> str:
    return settings.database_url.get_secret_value()


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to bind (default from KVGW_HOST)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from KVGW_PORT)")] = None,
    migrate: Annotated[bool, typer.Option(help="Upgrade the schema first")] = False,
) -> None:
    """Serve the gateway with uvicorn."""
    import uvicorn

    from gateway.app import DEMO_WARNING
    from gateway.store.migrate import is_up_to_date, upgrade

    settings = _settings()
    with user_errors():
        if migrate:
            upgrade(_database_url(settings))
        elif not is_up_to_date(_database_url(settings)):
            fail("the database schema is not current; run `kv-gateway db upgrade` first")
    bind_host = host or settings.host
    bind_port = port or settings.port
    base = settings.public_base_url.rstrip("/")
    typer.echo(f"kv-gateway {__version__} on http://{bind_host}:{bind_port}")
    typer.echo(f"  FHIR base      {base}/fhir   (CapabilityStatement: {base}/fhir/metadata)")
    typer.echo(f"  OpenAPI docs   {base}/docs")
    typer.echo(f"  Landing page   {base}/")
    if settings.auth_mode is AuthMode.DEMO:
        typer.secho(f"\n!! {DEMO_WARNING}\n", fg=typer.colors.YELLOW, bold=True, err=True)
    uvicorn.run(
        "gateway.app:app_from_environment",
        factory=True,
        host=bind_host,
        port=bind_port,
        access_log=False,  # our own access log never prints paths or query strings
        log_level="warning",
    )


def _db_command(action: Callable[[str], None]) -> None:
    settings = _settings()
    with user_errors():
        action(_database_url(settings))


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Migrate the schema up to REVISION (default: the newest)."""
    from gateway.store.migrate import upgrade

    _db_command(lambda url: upgrade(url, revision))
    typer.echo(f"database upgraded to {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument()]) -> None:
    """Migrate the schema down to REVISION (for example -1 or base)."""
    from gateway.store.migrate import downgrade

    _db_command(lambda url: downgrade(url, revision))
    typer.echo(f"database downgraded to {revision}")


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision of the database and the newest one available."""
    from gateway.store.db import make_engine
    from gateway.store.migrate import current_revision, head_revision

    settings = _settings()
    with user_errors():
        engine = make_engine(_database_url(settings))
        try:
            current = current_revision(engine)
        finally:
            engine.dispose()
    typer.echo(f"current: {current or 'none (empty database)'}")
    typer.echo(f"head:    {head_revision()}")


@seed_app.command("demo")
def seed_demo_command(
    fhir_peer: Annotated[
        str, typer.Option(help="Base URL of the demo journal-system FHIR peer")
    ] = "http://127.0.0.1:8091/fhir",
) -> None:
    """Load the synthetic demo directory (regions, kommuner, vårdcentraler, persons)."""
    from gateway.database import open_database
    from gateway.routing.demo_directory import seed_demo
    from gateway.store.db import transaction
    from gateway.store.migrate import is_up_to_date
    from gateway.store.resources import ResourceStore
    from gateway.validation.pipeline import ValidationPipeline

    settings = _settings()
    with user_errors():
        url = _database_url(settings)
        if not is_up_to_date(url):
            fail("the database schema is not current; run `kv-gateway db upgrade` first")
        database = open_database(settings)
        try:
            with transaction(database.sessions) as session:
                created = seed_demo(ResourceStore(session), ValidationPipeline(), fhir_peer)
        finally:
            database.dispose()
    typer.echo(f"demo directory seeded: {created} new resources")


@config_app.command("show")
def config_show() -> None:
    """Print the effective configuration, secrets masked."""
    settings = _settings()
    json.dump(settings.masked(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":  # pragma: no cover
    app()
