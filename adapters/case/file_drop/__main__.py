"""``python -m adapters.case.file_drop --config FILE [--once]``."""

from adapters.case.file_drop.cli import app

app(prog_name="kv-gateway-case-drop")
