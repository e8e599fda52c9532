"""The ``kv-gateway`` command line: serve, db, seed, config, version.

A user error prints one clear line to stderr and exits non-zero; no tracebacks.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import partial
from typing import Annotated

import typer

from gateway import __version__
from gateway.cli.common import fail, settings_or_fail, user_errors
from gateway.cli.demo import demo
from gateway.cli.directory import directory_app
from gateway.cli.inbox import inbox_app
from gateway.cli.journal import journal_app, start_demo_peers
from gateway.cli.listing import listing_app
from gateway.cli.security import audit_app, clients_app, keys_app, retention_app
from gateway.cli.workflow import outbox_app, worker, workflow_app
from gateway.settings import AuthMode, Settings

app = typer.Typer(
    help="kv-gateway: kommun–vård gateway for requests for a medicinskt utlåtande.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(
    help="The database: schema migrations (Alembic) and the search index.", no_args_is_help=True
)
seed_app = typer.Typer(help="Seed data.", no_args_is_help=True)
config_app = typer.Typer(help="Configuration.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(seed_app, name="seed")
app.add_typer(config_app, name="config")
app.add_typer(clients_app, name="clients")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(retention_app, name="retention")
app.add_typer(outbox_app, name="outbox")
app.add_typer(workflow_app, name="workflow")
app.command("worker")(worker)
app.command("demo")(demo)
app.add_typer(directory_app, name="directory")
app.add_typer(listing_app, name="listing")
app.add_typer(journal_app, name="journal")
app.add_typer(inbox_app, name="inbox")


@app.callback()
def _configure() -> None:
    """Logs go to stderr (JSON or console per KVGW_LOG_FORMAT), so stdout stays the output."""
    from pydantic import ValidationError

    from gateway.logging import configure_logging
    from gateway.settings import LogFormat, get_settings

    try:
        settings = get_settings()
    except ValidationError:
        configure_logging(LogFormat.CONSOLE, "WARNING")  # the command reports the error itself
        return
    configure_logging(settings.log_format, settings.log_level)


def _settings() -> Settings:
    return settings_or_fail()


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
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes (one per core on PostgreSQL; SQLite has one writer at "
            "a time, so more than one rarely helps there)",
        ),
    ] = 1,
    demo_peers: Annotated[
        bool, typer.Option(help="Also run the demo journal systems in-process (make run does)")
    ] = False,
    demo_peer_port: Annotated[
        int,
        typer.Option(
            help="Port of the demo fhir-rest journal system; the RIVTA one takes the next"
        ),
    ] = 8091,
) -> None:
    """Serve the gateway with uvicorn."""
    from gateway.app import DEMO_WARNING
    from gateway.cli.serving import serve_app, server_config
    from gateway.store.migrate import is_up_to_date, upgrade

    if demo_peers:
        from gateway.demo_peers import use_demo_certificate_header

        use_demo_certificate_header()
    settings = _settings()
    with user_errors():
        if migrate:
            upgrade(_database_url(settings))
        elif not is_up_to_date(_database_url(settings)):
            fail("the database schema is not current; run `kv-gateway db upgrade` first")
    bind_host = host or settings.host
    bind_port = port or settings.port
    base = settings.public_base_url.rstrip("/")
    processes = f", {workers} processes" if workers > 1 else ""
    typer.echo(f"kv-gateway {__version__} on http://{bind_host}:{bind_port}{processes}")
    typer.echo(f"  FHIR base      {base}/fhir   (CapabilityStatement: {base}/fhir/metadata)")
    typer.echo(f"  OpenAPI docs   {base}/docs")
    typer.echo(f"  Landing page   {base}/")
    if settings.auth_mode is AuthMode.DEMO:
        typer.secho(f"\n!! {DEMO_WARNING}\n", fg=typer.colors.YELLOW, bold=True, err=True)
    peers = start_demo_peers(demo_peer_port, settings) if demo_peers else []
    try:
        started = serve_app(
            server_config(
                "gateway.app:app_from_environment",
                host=bind_host,
                port=bind_port,
                workers=workers,
                forwarded_allow_ips=settings.forwarded_allow_ips,
                log_format=settings.log_format,
            )
        )
    finally:
        for peer in peers:
            peer.stop()
    if not started:
        fail(f"the server did not start on {bind_host}:{bind_port}")


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
    if revision == "head":
        # Marks at once, under this configuration's key, what a store that began empty
        # holds (gateway.store.index_marks), and tells of a stale index.
        _index_status()


def _index_status() -> bool:
    """Print whether the search index was built by this release and key; True if so."""
    from gateway.cli.security import database
    from gateway.store.reindex import count_resources, stale

    with database() as db, user_errors():
        stale_types = stale(db.sessions)
        counts = {t: count_resources(db.sessions, t) for t in stale_types}
    if not stale_types:
        typer.echo("search index: current")
        return True
    listed = ", ".join(f"{t} ({counts[t]} resources)" for t in stale_types)
    typer.echo(f"search index: stale for {listed}; run `kv-gateway db reindex --stale`")
    return False


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument()]) -> None:
    """Migrate the schema down to REVISION (for example -1 or base)."""
    from gateway.store.migrate import downgrade

    _db_command(lambda url: downgrade(url, revision))
    typer.echo(f"database downgraded to {revision}")


@db_app.command("reindex")
def db_reindex(
    resource_type: Annotated[
        str | None, typer.Option("--type", help="Only this resource type, e.g. Patient")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1)] = 500,
    stale: Annotated[
        bool,
        typer.Option("--stale", help="Only the types whose index `db current` shows as stale"),
    ] = False,
) -> None:
    """Rebuild the search index from the stored resources, in batches, while serving.

    Run it with --stale after an upgrade or a new KVGW_BLIND_INDEX_KEY, once every
    process of the release before has stopped. Interrupted, it can simply be run again.
    """
    from rich.progress import Progress

    from gateway.cli.security import database
    from gateway.resources.types import SUPPORTED_TYPES
    from gateway.store.reindex import count_resources, reindex
    from gateway.store.reindex import stale as stale_types

    if resource_type is not None and resource_type not in SUPPORTED_TYPES:
        fail(
            f"unknown resource type {resource_type!r}; known: {', '.join(sorted(SUPPORTED_TYPES))}"
        )
    if stale and resource_type is not None:
        fail("--stale and --type exclude each other")
    with database() as db, user_errors():
        types: list[str | None] = list(stale_types(db.sessions)) if stale else [resource_type]
        if not types:
            typer.echo("the search index is current: nothing to rebuild")
            return
        for one_type in types:
            total = count_resources(db.sessions, one_type)
            with Progress(transient=True) as progress:
                task = progress.add_task(f"reindexing {one_type or 'all types'}", total=total)
                report = reindex(
                    db.sessions,
                    res_type=one_type,
                    batch_size=batch_size,
                    progress=partial(progress.advance, task),
                )
            typer.echo(
                f"reindexed {report.resources} resources ({report.rows} index rows)"
                + (f" of {one_type}" if one_type else "")
            )


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision of the database and the newest one available, and
    whether the search index was built by this release and key (exit code 1 if not)."""
    from gateway.store.db import make_engine
    from gateway.store.migrate import current_revision, head_revision

    settings = _settings()
    with user_errors():
        engine = make_engine(_database_url(settings))
        try:
            current = current_revision(engine)
        finally:
            engine.dispose()
    head = head_revision()
    typer.echo(f"current: {current or 'none (empty database)'}")
    typer.echo(f"head:    {head}")
    if current != head:
        typer.echo("search index: not checked until the schema is at head (db upgrade)")
    elif not _index_status():
        raise typer.Exit(1)


@seed_app.command("demo")
def seed_demo_command(
    fhir_peer: Annotated[
        str, typer.Option(help="Base URL of the demo journal-system FHIR peer")
    ] = "http://127.0.0.1:8091/fhir",
    fhir_rest_profile: Annotated[
        str | None,
        typer.Option(help="fhir-rest adapter profile the demo Endpoints name (make run: demo)"),
    ] = None,
    rivta_peer: Annotated[
        str | None,
        typer.Option(
            help="Service address of the demo RIVTA journal system (make run sets it); "
            "unset, the RIVTA unit is reached through the configured platform"
        ),
    ] = None,
) -> None:
    """Load the synthetic demo directory (regions, kommuner, vårdcentraler, persons)."""
    from gateway.database import open_database
    from gateway.routing.demo_directory import DemoPeers, seed_demo
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
                created = seed_demo(
                    ResourceStore(session),
                    ValidationPipeline(),
                    DemoPeers(fhir_peer, fhir_rest_profile, rivta_peer),
                )
        finally:
            database.dispose()
    typer.echo(f"demo directory seeded: {created} new resources")


@config_app.command("show")
def config_show() -> None:
    """Print the effective configuration, secrets and passwords in URLs masked."""
    settings = _settings()
    json.dump(settings.masked(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":  # pragma: no cover
    app()
