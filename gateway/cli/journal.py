"""``kv-gateway journal``: polling the journal systems that do not call back."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from gateway.cli.common import fail, user_errors

if TYPE_CHECKING:
    from gateway.demo_peers import RunningPeer
    from gateway.settings import Settings

journal_app = typer.Typer(
    help="Journal systems: poll them for status changes and answers.", no_args_is_help=True
)
console = Console(width=160)  # whole ids and marks, also when piped


@journal_app.command("poll")
def journal_poll() -> None:
    """Poll every polled journal system once and apply what changed (the worker does this
    every KVGW_JOURNAL_POLL_SECONDS)."""
    from gateway.app import create_app
    from gateway.cli.common import settings_or_fail

    settings = settings_or_fail()
    with user_errors():
        app = create_app(settings.model_copy(update={"delivery_worker_in_process": False}))
    try:
        report = app.state.poller.run_once()
    finally:
        app.state.engine.dispose()
    typer.echo(
        f"{report.peers} journal systems with news, {report.updates} updates: "
        f"{report.changed} applied, {report.unchanged} already applied, {report.refused} refused"
    )
    for failure in report.failures:
        typer.echo(f"  {failure}", err=True)


@journal_app.command("marks")
def journal_marks() -> None:
    """Show how far each polled Endpoint has been read, and its last error."""
    from gateway.cli.security import database
    from gateway.delivery.sync import marks

    with database() as db, db.sessions() as session:
        found = marks(session)
    table = Table("endpoint", "high-water mark", "polled at", "last error")
    for mark in found:
        table.add_row(
            f"Endpoint/{mark.endpoint_id}",
            mark.high_water or "",
            mark.polled_at.isoformat(timespec="seconds"),
            mark.last_error or "",
        )
    console.print(table)


def start_demo_peers(
    fhir_port: int, settings: Settings, keys_dir: Path = Path("var/demo-keys")
) -> list[RunningPeer]:
    """For ``serve --demo-peers``: start the demo journal systems (fhir-rest on ``fhir_port``,
    RIVTA on the next port) and say where they are."""
    from gateway.demo_peers import DemoPeerError, start_fhir_journal, start_rivta_journal

    cert_header = settings.mtls_client_cert_header
    if cert_header is None:
        fail("the demo RIVTA journal system needs KVGW_MTLS_CLIENT_CERT_HEADER")
    peers: list[RunningPeer] = []
    try:
        peers.append(start_fhir_journal(fhir_port, keys_dir))
        peers.append(
            start_rivta_journal(
                fhir_port + 1,
                settings.public_base_url,
                settings.rivta_actor_id,
                cert_header,
            )
        )
    except DemoPeerError as error:
        for peer in peers:
            peer.stop()
        fail(str(error))
    for peer in peers:
        typer.echo(f"  Demo journal system ({peer.name})  {peer.url}")
        typer.echo(f"      what has arrived there: {peer.home}")
    return peers
