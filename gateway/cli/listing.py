"""``kv-gateway listing``: the local listing register."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from gateway.cli.common import fail, settings_or_fail, user_errors

listing_app = typer.Typer(
    help="The local listing register (person -> vårdcentral).", no_args_is_help=True
)
console = Console(stderr=True)
SHOWN_REJECTS = 20


@listing_app.command("import")
def listing_import(
    file: Annotated[Path, typer.Argument(help="Listing CSV (see README: Routing)")],
    batch_size: Annotated[int, typer.Option(min=100, help="Rows per committed batch")] = 50_000,
    rejects: Annotated[
        Path | None,
        typer.Option(help="Write every rejected row (line, code, reason) to this CSV"),
    ] = None,
) -> None:
    """Import a listing CSV: streamed, idempotent, rejected rows reported by line number."""
    from gateway.routing.listing_register import (
        ListingFileError,
        ListingImportError,
        import_listings,
    )
    from gateway.routing.person import ListingHasher
    from gateway.store.db import make_engine
    from gateway.store.migrate import is_up_to_date

    settings = settings_or_fail()
    with user_errors():
        url = settings.database_url.get_secret_value()
        if not file.is_file():
            fail(f"no such file: {file}")
        if not is_up_to_date(url):
            fail("the database schema is not current; run `kv-gateway db upgrade` first")
        hasher = ListingHasher(settings.listing_hash_key.get_secret_value().encode())
        if settings.listing_hash_key_is_default():
            typer.echo(
                "warning: KVGW_LISTING_HASH_KEY is the public development key; "
                "never import real listings with it",
                err=True,
            )
        engine = make_engine(url, sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms)
        try:
            with (
                file.open("rb") as stream,
                Progress(
                    TextColumn("[bold]listing import"),
                    BarColumn(),
                    DownloadColumn(),
                    TransferSpeedColumn(),
                    TimeRemainingColumn(),
                    console=console,
                    transient=True,
                ) as progress,
            ):
                task = progress.add_task("import", total=file.stat().st_size)
                try:
                    report = import_listings(
                        engine,
                        stream,
                        hasher,
                        batch_size=batch_size,
                        progress=lambda n: progress.advance(task, n),
                        max_rejects_kept=10_000_000 if rejects else SHOWN_REJECTS,
                    )
                except (ListingFileError, ListingImportError) as error:
                    # One line: the header's fault, or where an import that stopped midway
                    # got to (its committed batches stay; a rerun is idempotent).
                    fail(str(error))
        finally:
            engine.dispose()
    from gateway.routing import events

    events.record(
        "listing.import",
        actor="cli",
        rows=report.read,
        inserted=report.inserted,
        rejected=report.rejected,
        lost_protection=report.lost_protection,
    )
    lost = ""
    if report.lost_protection:
        # An explicit 0 over a stored 1: routing shows these persons' address and contact
        # data again. Legitimate (skyddad folkbokföring ends), but an operator must see it.
        lost = (
            f"; {report.lost_protection} row(s) lost protected identity "
            "(protected_identity 0 over a stored 1)"
        )
    typer.echo(
        f"listing import: {report.read} rows read, {report.accepted} accepted "
        f"({report.inserted} new, {report.updated_or_unchanged} already known or updated), "
        f"{report.rejected} rejected{lost}"
    )
    for rejected in report.rejects[:SHOWN_REJECTS]:
        typer.echo(f"  line {rejected.line}: {rejected.code}: {rejected.reason}", err=True)
    if report.rejected > SHOWN_REJECTS and not rejects:
        typer.echo(
            f"  … and {report.rejected - SHOWN_REJECTS} more (use --rejects FILE for all)",
            err=True,
        )
    if rejects:
        with rejects.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["line", "code", "reason"])
            for rejected in report.rejects:
                writer.writerow([rejected.line, rejected.code, rejected.reason])
