"""``kv-gateway outbox|worker|workflow``: operating deliveries and the request workflow."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gateway.cli.common import fail, settings_or_fail, user_errors

outbox_app = typer.Typer(
    help="The delivery outbox: what is queued, delivered or dead.", no_args_is_help=True
)
workflow_app = typer.Typer(help="The request workflow.", no_args_is_help=True)
console = Console()


@outbox_app.command("list")
def outbox_list(
    status: Annotated[str | None, typer.Option(help="pending, delivered, dead or withheld")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """List outbox messages, newest first (no payloads: they hold personal data)."""
    from gateway.cli.security import database
    from gateway.delivery.outbox import listing

    with database() as db, db.sessions() as session:
        table = Table("id", "kind", "target", "task", "status", "attempts", "last error")
        for message in listing(session, status, limit):
            table.add_row(
                message.id,
                message.kind,
                message.target,
                message.task or "",
                message.status,
                str(message.attempts),
                message.last_error or "",
            )
    console.print(table)


@outbox_app.command("retry")
def outbox_retry(message_id: str) -> None:
    """Queue a dead message again (a failed request's Task becomes requested again)."""
    from gateway.cli.security import database
    from gateway.workflow.operations import rerun_delivery

    with database() as db, user_errors(), db.sessions() as session, session.begin():
        if not rerun_delivery(session, message_id):
            fail(f"no dead message {message_id}")
    typer.echo(f"message {message_id} queued again")


@workflow_app.command("remind")
def workflow_remind() -> None:
    """Remind units once about overdue requests (run it daily, or let `worker` do it)."""
    from gateway.cli.security import database
    from gateway.store.resources import ResourceStore
    from gateway.workflow.notices import queue_reminders

    with database() as db, user_errors(), db.sessions() as session, session.begin():
        queued = queue_reminders(ResourceStore(session))
    typer.echo(f"{queued} reminders queued")


def worker(
    poll_seconds: Annotated[float, typer.Option(min=0.1)] = 1.0,
    remind_every_seconds: Annotated[float, typer.Option(min=60)] = 3600.0,
    poll_journals: Annotated[
        bool,
        typer.Option(
            help="Also poll journal systems every KVGW_JOURNAL_POLL_SECONDS (one worker is enough)"
        ),
    ] = True,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve the worker's Prometheus metrics on this port (/metrics)"),
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="Address the metrics listen on")] = "127.0.0.1",
) -> None:
    """Run a delivery worker (as many as needed beside the API replicas)."""
    from prometheus_client import start_http_server

    from gateway.app import create_app
    from gateway.metrics import REGISTRY
    from gateway.store.resources import ResourceStore
    from gateway.workflow.notices import queue_reminders

    settings = settings_or_fail()
    with user_errors():
        app = create_app(settings.model_copy(update={"delivery_worker_in_process": False}))
        if metrics_port is not None:  # deliveries are counted here, not in the API pods
            start_http_server(metrics_port, addr=metrics_host, registry=REGISTRY)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    typer.echo("kv-gateway worker: draining the outbox (Ctrl-C stops)")

    def remind() -> None:
        while not stop.wait(remind_every_seconds):
            with app.state.session_factory() as session, session.begin():
                queue_reminders(ResourceStore(session))

    threading.Thread(target=remind, daemon=True).start()
    if poll_journals and settings.journal_poll_seconds > 0:
        threading.Thread(
            target=app.state.poller.run_forever,
            args=(stop, settings.journal_poll_seconds),
            daemon=True,
            name="journal-poll",
        ).start()
    app.state.worker.run_forever(stop, poll_seconds)
    app.state.engine.dispose()
