"""``kv-gateway-case-drop --config FILE [--once]``: run the file-drop adapter.

A bad configuration or mapping file stops it at start with one line naming the key
(exit code 2), as do a state file it cannot read and another adapter in the same folder. ``--once`` runs one round and prints what it did; otherwise it repeats a
round every ``poll.interval_seconds`` until interrupted.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import httpx
import typer

from adapters.case.file_drop.client import GatewayClient
from adapters.case.file_drop.config import AdapterConfig, ConfigError, load_config
from adapters.case.file_drop.runner import FileDropRunner, RootBusyError
from adapters.case.file_drop.state import StateError
from adapters.journal.fhir_rest.smart import SmartTokenSource

app = typer.Typer(help="File-drop adapter for kommun case systems (kv-gateway).")


def make_runner(config: AdapterConfig, http: httpx.Client) -> FileDropRunner:
    tokens = SmartTokenSource(config.smart, http)
    return FileDropRunner(config, GatewayClient(config.fhir_base, tokens, http))


@app.command()
def run(
    config: Annotated[Path, typer.Option("--config", help="The adapter's TOML configuration.")],
    once: Annotated[bool, typer.Option("--once", help="Run one round and stop.")] = False,
) -> None:
    try:
        settings = load_config(config)
    except ConfigError as error:
        typer.echo(f"kv-gateway-case-drop: {error}", err=True)
        raise typer.Exit(2) from None
    with httpx.Client(timeout=settings.timeout_seconds, trust_env=False) as http:
        runner = make_runner(settings, http)
        try:
            runner.hold_root()
        except (RootBusyError, StateError, OSError) as error:
            typer.echo(f"kv-gateway-case-drop: {error}", err=True)
            raise typer.Exit(2) from None
        if once:
            report = runner.run_once()
            typer.echo(" ".join(f"{name}={value}" for name, value in vars(report).items()))
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            runner.run_forever(stop)
        except KeyboardInterrupt:
            stop.set()
