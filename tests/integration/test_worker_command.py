"""`kv-gateway worker` as operators run it: a process of its own, with its metrics."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from gateway.store.migrate import upgrade
from tests.integration.test_cli import CLI, cli_environment
from tests.support.live_server import free_port


def test_the_worker_serves_its_metrics_and_stops_on_sigterm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade(url)
    port = free_port()
    worker = subprocess.Popen(
        [*CLI, "worker", "--metrics-port", str(port), "--poll-seconds", "0.2"],
        env=cli_environment({"KVGW_DATABASE_URL": url}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline, answer = time.monotonic() + 60, None
        while answer is None and time.monotonic() < deadline and worker.poll() is None:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2, trust_env=False)
            except httpx.TransportError:
                time.sleep(0.2)
        assert answer is not None, f"no metrics; worker exited with {worker.poll()}"
        assert answer.status_code == 200
        names = {family.name for family in text_string_to_metric_families(answer.text)}
        assert {"kvgw_outbox_deliveries", "process_cpu_seconds"} <= names
    finally:
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    assert "draining the outbox" in out
