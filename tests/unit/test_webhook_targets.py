"""Which rest-hook URLs the gateway may be pointed at (gateway.delivery.webhook_targets)."""

from __future__ import annotations

import ipaddress

import pytest

from gateway.delivery.webhook_targets import TargetRefusedError, WebhookTargets

PRODUCTION = WebhookTargets()
DEVELOPMENT = WebhookTargets(loopback_http=True)
SJUNET = WebhookTargets(allowed_networks=(ipaddress.ip_network("10.20.0.0/16"),))


@pytest.mark.parametrize(
    "url",
    [
        "http://kommun.example.se/hook",  # not https
        "https://127.0.0.1/hook",
        "https://[::1]:8443/hook",
        "https://[::ffff:10.0.0.1]/hook",  # 10.0.0.1, IPv4-mapped
        "https://10.1.2.3/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data/",  # a cloud's metadata service
        "https://100.64.0.1/hook",  # shared address space
        "https://0.0.0.0/hook",
        "https://224.0.0.1/hook",
        "https://[fe80::1%25eth0]/hook",
        # IPv6 forms that carry a private IPv4 address, or reach none that is public
        "https://[64:ff9b::a9fe:a9fe]/",  # NAT64 to 169.254.169.254
        "https://[64:ff9b::a00:1]/",  # NAT64 to 10.0.0.1
        "https://[64:ff9b:1::a00:1]/",  # local-use NAT64
        "https://[2002:a00:1::]/",  # 6to4 of 10.0.0.1
        "https://[2002:a9fe:a9fe::]/",
        "https://[::127.0.0.1]/",  # IPv4-compatible
        "https://[::a9fe:a9fe]/",
        "https://[::ffff:0:a00:1]/",  # SIIT
        "https://[fec0::1]/",  # site-local
        "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",  # Teredo
        "https://localhost/hook",
        "https://svar.localhost./hook",
        "https://user:secret@kommun.example.se/hook",
        "https://kommun.example.se:0/hook",
        "https://kommun.example.se:99999/hook",
        "ftp://kommun.example.se/hook",
        "https:///hook",
        "kommun.example.se/hook",
    ],
)
def test_production_refuses_what_only_the_gateway_can_reach(url: str) -> None:
    with pytest.raises(TargetRefusedError) as refused:
        PRODUCTION.check(url)
    assert url not in str(refused.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://kommun.example.se/hook",
        "https://93.184.216.34:8443/x",
        "https://[2a00::1]/",
        "https://[64:ff9b::5db8:d822]/",  # NAT64 to the public 93.184.216.34
    ],
)
def test_production_takes_public_https(url: str) -> None:
    assert PRODUCTION.check(url).scheme == "https"


def test_an_allowed_network_is_reachable_and_no_other() -> None:
    assert SJUNET.check("https://10.20.1.2/hook").hostname == "10.20.1.2"
    with pytest.raises(TargetRefusedError):
        SJUNET.check("https://10.21.0.1/hook")
    with pytest.raises(TargetRefusedError):
        SJUNET.check("http://10.20.1.2/hook")  # still https


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/hook", "http://localhost:8080/hook", "http://[::1]/hook"]
)
def test_development_allows_http_to_loopback(url: str) -> None:
    assert DEVELOPMENT.check(url).scheme == "http"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1.evil.example/hook",  # a name that begins like loopback
        "http://127.0.0.1@evil.example/hook",  # user information
        "http://10.0.0.1/hook",
        "https://10.0.0.1/hook",
    ],
)
def test_development_allows_nothing_else(url: str) -> None:
    with pytest.raises(TargetRefusedError):
        DEVELOPMENT.check(url)


@pytest.mark.parametrize("host", ["127.1", "2130706433", "0x7f000001"])
def test_a_name_that_resolves_to_loopback_is_refused_when_resolved(host: str) -> None:
    """Not an address as written, so checked only once resolved (as at every delivery)."""
    url = f"https://{host}/hook"
    assert PRODUCTION.check(url).hostname == host
    with pytest.raises(TargetRefusedError, match="resolves to an address not allowed"):
        PRODUCTION.resolve(url)


def test_resolving_gives_every_address_checked() -> None:
    resolved = DEVELOPMENT.resolve("http://localhost:8080/hook")
    assert resolved.host == "localhost"
    assert resolved.addresses
    assert all(address.is_loopback for address in resolved.addresses)


def test_a_subscriber_that_trickles_its_answer_is_given_up_at_the_deadline() -> None:
    """Each header line comes well within the per-read timeout, so only the deadline ends
    the exchange: a slow receiver must not hold the worker that serves every party."""
    import socket
    import threading
    import time

    import httpx

    from gateway.delivery.webhook_targets import post

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    stop = threading.Event()

    def trickle() -> None:
        connection, _ = server.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\n")
            while not stop.wait(0.3):
                try:
                    connection.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    return

    threading.Thread(target=trickle, daemon=True).start()
    target = DEVELOPMENT.resolve(f"http://127.0.0.1:{port}/hook")
    started = time.monotonic()
    try:
        with pytest.raises(httpx.TimeoutException):
            post(target, {"resourceType": "Bundle"}, {}, timeout=5.0, deadline=1.0)
        assert time.monotonic() - started < 4.0  # the trickle alone would go on for ever
    finally:
        stop.set()
        server.close()
