"""The kv-gateway command line run in this process (typer's CliRunner): a command that
fails before it starts a server costs a fraction of a second, not a Python start-up.

Like tests.integration.test_cli.run_cli, the command sees no KVGW_ setting of this
process, only ``env``; the cached settings are read afresh before and after it.
"""

from __future__ import annotations

import os

from typer.testing import CliRunner, Result

from gateway.cli.main import app
from gateway.settings import get_settings


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    environment: dict[str, str | None] = {k: None for k in os.environ if k.startswith("KVGW_")}
    environment.update(env or {})
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, list(args), env=environment)
    finally:
        get_settings.cache_clear()
