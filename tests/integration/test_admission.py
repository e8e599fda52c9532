"""Admission control: a bounded number of requests at work, a bounded queue, then 503."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from gateway.app import create_app
from gateway.settings import AuthMode, Settings
from gateway.store.migrate import upgrade
from tests.support.live_server import serve
from tests.support.metrics import sample, scrape

HOLD = (
    b"POST /fhir/Patient HTTP/1.1\r\nHost: gateway\r\n"
    b"Content-Type: application/fhir+json\r\nContent-Length: 40\r\n\r\n{"
)


def _until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_past_its_capacity_the_gateway_answers_503_at_once_and_keeps_its_probes(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade(url)
    app = create_app(
        Settings(
            database_url=url,  # type: ignore[arg-type]
            auth_mode=AuthMode.DEMO,
            delivery_worker_in_process=False,
            max_active_requests=1,
            max_queued_requests=1,
            queue_timeout_seconds=0.6,
        )
    )
    with serve(app) as base, httpx.Client(base_url=base, trust_env=False, timeout=10) as http:
        before = scrape(http)
        # A request whose headers have arrived and whose body has not: it holds the slot.
        where = urlsplit(base)
        holder = socket.create_connection((where.hostname or "", where.port or 80))
        holder.sendall(HOLD)
        _until(lambda: sample(scrape(http), "kvgw_requests_active") == 1, "the held request")

        waited: list[httpx.Response] = []
        waiter = threading.Thread(target=lambda: waited.append(http.get("/fhir/metadata")))
        waiter.start()
        _until(lambda: sample(scrape(http), "kvgw_requests_queued") == 1, "the queued request")

        started = time.monotonic()
        with httpx.Client(base_url=base, trust_env=False, timeout=10) as other:
            refused = other.get("/fhir/metadata")
            page = other.get("/inbox")
        assert time.monotonic() - started < 0.5, "a full queue answers at once"
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert refused.headers["content-type"].startswith("application/fhir+json")
        issue = refused.json()["issue"][0]
        assert issue["code"] == "throttled"
        assert "Försök igen om en stund" in issue["details"]["text"]
        assert page.status_code == 503
        assert page.headers["content-type"].startswith("text/html")
        assert "Försök igen om en stund" in page.text
        assert http.get("/healthz").status_code == 200  # probes are never queued

        waiter.join(timeout=10)
        assert [r.status_code for r in waited] == [503]  # waited its 0.6 s, no slot came
        holder.sendall(b'"resourceType": "Patient", "active": 1}' + b" " * 40)
        holder.recv(4096)  # the held request's answer, whatever it is
        holder.close()
        _until(lambda: sample(scrape(http), "kvgw_requests_active") == 0, "the slot's release")
        assert http.get("/fhir/metadata").status_code == 200

        after = scrape(http)
        for reason, count in (("queue-full", 2), ("queue-timeout", 1)):
            key = {"reason": reason}
            grew = sample(after, "kvgw_requests_shed_total", **key) - sample(
                before, "kvgw_requests_shed_total", **key
            )
            assert grew == count, reason
        shed_503 = {"method": "GET", "route": "unmatched", "status": "503"}
        assert (
            sample(after, "kvgw_http_requests_total", **shed_503)
            - sample(before, "kvgw_http_requests_total", **shed_503)
            == 3
        )
