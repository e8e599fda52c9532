"""``kv-gateway directory``: reference data, import/export, routing and authorisation tables."""

from __future__ import annotations

import datetime
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from sqlalchemy.orm import Session

from gateway.cli.common import fail, require_values, settings_or_fail, user_errors
from gateway.settings import Settings

directory_app = typer.Typer(
    help="The directory: Organizations, Endpoints, routing and authorisation tables.",
    no_args_is_help=True,
)
console = Console(stderr=True)


class FileKind(StrEnum):
    BUNDLE = "bundle"
    CSV = "csv"


@contextmanager
def _session() -> Iterator[tuple[Session, Settings]]:
    """One transaction on a migrated database, user errors as one line."""
    from gateway.database import open_database
    from gateway.store.migrate import is_up_to_date

    settings = settings_or_fail()
    with user_errors():
        if not is_up_to_date(settings.database_url.get_secret_value()):
            fail("the database schema is not current; run `kv-gateway db upgrade` first")
        database = open_database(settings)
        try:
            with database.sessions() as session, session.begin():
                yield session, settings
        finally:
            database.dispose()


def _kind(file: Path, given: FileKind | None) -> FileKind:
    if given is not None:
        return given
    return FileKind.CSV if file.suffix.lower() == ".csv" else FileKind.BUNDLE


@directory_app.command("seed-reference")
def seed_reference() -> None:
    """Create or reconcile the 21 regions and 290 kommuner (idempotent)."""
    from gateway.routing.directory import load_reference
    from gateway.store.resources import ResourceStore
    from gateway.validation.pipeline import ValidationPipeline

    with _session() as (session, _):
        report = load_reference(ResourceStore(session), ValidationPipeline(), actor="cli")
    typer.echo(
        f"reference directory: {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged"
    )


@directory_app.command("import")
def directory_import(
    file: Annotated[Path, typer.Argument(help="FHIR Bundle (JSON) or directory CSV")],
    kind: Annotated[
        FileKind | None, typer.Option("--format", help="Default: by the file's suffix")
    ] = None,
) -> None:
    """Upsert Organizations and Endpoints by id, all or nothing, as new versions. Each is
    checked as the FHIR API checks a write of it, the file as a whole by the directory's
    rules (one active Organization per HSA-id, references that resolve, no partOf loop)."""
    from gateway.routing.directory_io import DirectoryImportError, import_resources, read_file
    from gateway.store.resources import ResourceStore
    from gateway.validation.factory import build_validator

    chosen = _kind(file, kind)
    settings = settings_or_fail()
    with user_errors():
        data = file.read_bytes()
        try:
            resources = read_file(data, chosen.value, max_depth=settings.max_json_depth)
        except DirectoryImportError as error:
            fail(f"{file.name}: {error}")
    with _session() as (session, settings):
        refused: DirectoryImportError | None = None
        # Not drawn off a terminal: the display would leave an empty line on stderr.
        with Progress(console=console, transient=True, disable=not console.is_terminal) as progress:
            task = progress.add_task("directory import", total=len(resources))
            try:
                result = import_resources(
                    ResourceStore(session),
                    build_validator(settings),
                    resources,
                    progress=lambda n: progress.update(task, completed=n),
                    file_kind=chosen.value,
                    environment=settings.environment,
                )
            except DirectoryImportError as error:
                refused = error
        if refused is not None:  # once the progress display is gone; rolls back
            fail(f"{file.name}: {refused}; nothing was imported")
    typer.echo(
        f"directory import: {result.created} created, {result.updated} updated, "
        f"{result.unchanged} unchanged"
    )


@directory_app.command("export")
def directory_export(
    kind: Annotated[FileKind, typer.Option("--format")] = FileKind.BUNDLE,
    output: Annotated[Path | None, typer.Option(help="Default: standard output")] = None,
) -> None:
    """Write every current Organization and Endpoint as a Bundle or CSV."""
    from gateway.routing import events
    from gateway.routing.directory_io import directory_resources, export_bundle, export_csv
    from gateway.store.resources import ResourceStore

    with _session() as (session, settings):
        out = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
        try:
            resources = list(directory_resources(ResourceStore(session)))
            if kind is FileKind.CSV:
                export_csv(resources, out)
            else:
                json.dump(
                    export_bundle(resources, settings.fhir_base_url),
                    out,
                    ensure_ascii=False,
                    indent=1,
                )
                out.write("\n")
        finally:
            if output:
                out.close()
    events.record("directory.export", actor="cli", file_kind=kind.value, rows=len(resources))


def _when(raw: str | None, default_now: bool) -> datetime.datetime | None:
    if raw is None:
        return datetime.datetime.now(datetime.UTC) if default_now else None
    try:
        parsed = datetime.datetime.fromisoformat(raw)
    except ValueError:
        fail(f"not a date or time: {raw!r} (use e.g. 2026-01-01 or 2026-01-01T08:00:00+01:00)")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


@directory_app.command("route-add")
def route_add(
    service: Annotated[str, typer.Argument(help="Service contract")],
    logical_address: Annotated[str, typer.Argument(help="HSA-id of the unit")],
    endpoint_id: Annotated[str, typer.Argument(help="Endpoint id in the directory")],
    valid_from: Annotated[str | None, typer.Option(help="Default: now")] = None,
    valid_to: Annotated[str | None, typer.Option(help="Default: open")] = None,
) -> None:
    """Add a vägval: (service, logical address) -> Endpoint for a period."""
    from gateway.routing import routing_table

    require_values(
        {
            "service": service,
            "logical_address": logical_address,
            "endpoint_id": endpoint_id,
            "--valid-from": valid_from,
            "--valid-to": valid_to,
        }
    )
    start, end = _when(valid_from, True), _when(valid_to, False)
    assert start is not None
    with _session() as (session, _):
        from gateway.store.resources import ResourceStore

        if ResourceStore(session).current("Endpoint", endpoint_id) is None:
            fail(f"no Endpoint {endpoint_id} in the directory")
        routing_table.add_route(
            session,
            service,
            logical_address,
            endpoint_id,
            valid_from=start,
            valid_to=end,
            actor="cli",
        )
    typer.echo("route added")


@directory_app.command("authorise")
def authorise(
    consumer: Annotated[str, typer.Argument(help="Consumer id (HSA-id of the calling system)")],
    service: Annotated[str, typer.Argument(help="Service contract")],
    logical_address: Annotated[str, typer.Argument(help="HSA-id of the unit")],
    valid_from: Annotated[str | None, typer.Option(help="Default: now")] = None,
    valid_to: Annotated[str | None, typer.Option(help="Default: open")] = None,
) -> None:
    """Add an anropsbehörighet for a period."""
    from gateway.routing import routing_table

    require_values(
        {
            "consumer": consumer,
            "service": service,
            "logical_address": logical_address,
            "--valid-from": valid_from,
            "--valid-to": valid_to,
        }
    )
    start, end = _when(valid_from, True), _when(valid_to, False)
    assert start is not None
    with _session() as (session, _):
        routing_table.add_authorisation(
            session, consumer, service, logical_address, valid_from=start, valid_to=end, actor="cli"
        )
    typer.echo("authorisation added")


@directory_app.command("tables")
def tables() -> None:
    """Print the routing table and the authorisation table."""
    from gateway.routing import routing_table

    def show(value: datetime.datetime | None) -> str:
        return value.isoformat(timespec="seconds") if value else "open"

    with _session() as (session, _):
        typer.echo("vägval (service, logical address -> endpoint, from, to):")
        for r in routing_table.all_routes(session):
            typer.echo(
                f"  {r.service_contract}  {r.logical_address} -> Endpoint/{r.endpoint_id}  "
                f"{show(r.valid_from)}  {show(r.valid_to)}"
            )
        typer.echo("anropsbehörighet (consumer, service, logical address, from, to):")
        for a in routing_table.all_authorisations(session):
            typer.echo(
                f"  {a.consumer}  {a.service_contract}  {a.logical_address}  "
                f"{show(a.valid_from)}  {show(a.valid_to)}"
            )
