"""`kv-gateway serve` as operations see it: one JSON object a log line, uvicorn's own lines
too, and a client address no local process can forge with X-Forwarded-For."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from gateway.cli.serving import server_config
from tests.support.live_server import free_port, running


def client_address_app() -> Starlette:
    """An app factory that answers with the client address the server hands the app,
    which is the address the gateway rate-limits sign-ins by."""

    async def address(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.client.host if request.client else "unknown")

    return Starlette(routes=[Route("/", address)])


@pytest.mark.parametrize(("trusted", "seen"), [("", "127.0.0.1"), ("127.0.0.1", "203.0.113.7")])
def test_x_forwarded_for_is_believed_only_from_the_configured_proxies(
    trusted: str, seen: str
) -> None:
    port = free_port()
    config = server_config(
        f"{__name__}:client_address_app",
        host="127.0.0.1",
        port=port,
        forwarded_allow_ips=trusted,
    )
    with running(config):
        answer = httpx.get(
            f"http://127.0.0.1:{port}/",
            headers={"X-Forwarded-For": "203.0.113.7"},
            trust_env=False,
            timeout=5,
        )
    assert answer.text == seen


def _wait_until_served(process: subprocess.Popen[str], port: int) -> None:
    deadline = time.monotonic() + 60
    with httpx.Client(trust_env=False, timeout=2) as client:
        while time.monotonic() < deadline:
            assert process.poll() is None, "serve exited before it answered"
            try:
                if client.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
    raise AssertionError("serve never answered")


def test_every_log_line_of_serve_is_json_uvicorns_own_too(
    tmp_path: Path, sqlite_template: Path
) -> None:
    shutil.copyfile(sqlite_template, tmp_path / "gateway.db")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KVGW_")}
    env["KVGW_DATABASE_URL"] = f"sqlite:///{tmp_path / 'gateway.db'}"
    env["KVGW_LOG_FORMAT"] = "json"
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli.main", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_until_served(process, port)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            raw.sendall(b"\x16\x03\x01\x02\x00 not HTTP at all\r\n\r\n")
            assert raw.recv(1024).startswith(b"HTTP/1.1 400")
    finally:
        process.send_signal(signal.SIGTERM)
        _, logs = process.communicate(timeout=30)
    # uvicorn stops gracefully, then raises the signal it caught again (one process)
    assert process.returncode in (0, -signal.SIGTERM), logs
    lines = [json.loads(line) for line in logs.splitlines()]  # every line is one JSON object
    assert all(isinstance(line, dict) for line in lines)
    garbage = [line for line in lines if line["event"] == "Invalid HTTP request received."]
    assert garbage, logs
    assert garbage[0]["level"] == "warning"
    assert garbage[0]["logger"] == "uvicorn.error"
