"""`kv-gateway serve` in several processes, and the socket they share."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from gateway.cli.serving import TcpConfig
from tests.support.live_server import free_port
from tests.support.metrics import sample, scrape


def test_connections_on_the_shared_socket_are_sent_without_delay() -> None:
    """asyncio sets TCP_NODELAY only on sockets whose protocol is TCP; the socket the
    worker processes share must say so, or each response waits for a delayed ACK."""
    config = TcpConfig("gateway.app:app_from_environment", host="127.0.0.1", port=0, workers=2)
    listening = config.bind_socket()
    assert listening.proto == socket.IPPROTO_TCP

    async def accept_one() -> int:
        accepted: asyncio.Queue[asyncio.BaseTransport] = asyncio.Queue()

        class Keep(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                accepted.put_nowait(transport)

        server = await asyncio.get_running_loop().create_server(Keep, sock=listening)
        async with server:
            port = listening.getsockname()[1]
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            transport = await asyncio.wait_for(accepted.get(), timeout=5)
            delay_off = transport.get_extra_info("socket").getsockopt(
                socket.IPPROTO_TCP, socket.TCP_NODELAY
            )
            writer.close()
            transport.close()
            return int(delay_off)

    assert asyncio.run(accept_one()) != 0


def test_serve_with_two_workers_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KVGW_")}
    env["KVGW_DATABASE_URL"] = f"sqlite:///{tmp_path / 'gateway.db'}"
    command = ["serve", "--migrate", "--workers", "2", "--port", str(port)]
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli.main", *command],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        answered = None
        deadline = time.monotonic() + 60
        with httpx.Client(trust_env=False, timeout=2) as client:
            while answered is None and time.monotonic() < deadline:
                assert process.poll() is None, "serve exited before it answered"
                try:
                    answered = client.get(f"http://127.0.0.1:{port}/healthz")
                except httpx.TransportError:
                    time.sleep(0.2)
        assert answered is not None, "serve --workers 2 never answered"
        assert answered.status_code == 200
        # Metrics count across the workers: every scrape, whichever worker answers it,
        # reports all 21 probes (each request on a connection of its own, so the kernel
        # spreads them over both workers).
        base = f"http://127.0.0.1:{port}"
        for _ in range(20):
            assert httpx.get(f"{base}/healthz", trust_env=False, timeout=5).status_code == 200
        probes = {"method": "GET", "route": "/healthz", "status": "200"}
        seen = []
        for _ in range(6):  # a new connection each: any worker may answer
            with httpx.Client(base_url=base, trust_env=False, timeout=5) as fresh:
                seen.append(sample(scrape(fresh), "kvgw_http_requests_total", **probes))
        assert seen == [21.0] * 6
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "2 processes" in output


def test_the_serving_factory_freezes_the_startup_heap(tmp_path: Path) -> None:
    """A full collection over the startup heap stopped a worker for 90-200 ms; the factory
    that `serve` runs leaves that heap frozen. In a process of its own: frozen objects are
    never collected, which a test process must not inherit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KVGW_")}
    env["KVGW_DATABASE_URL"] = f"sqlite:///{tmp_path / 'gateway.db'}"
    script = (
        "import gc\n"
        "from gateway.app import app_from_environment\n"
        "before = gc.get_freeze_count()\n"
        "app_from_environment()\n"
        "print(before, gc.get_freeze_count())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    before, after = (int(n) for n in done.stdout.split()[-2:])
    assert before == 0
    assert after > 100_000  # the profiles, models and metadata, not a handful
