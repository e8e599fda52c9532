"""Running an ASGI app under uvicorn: one process, or several on one listening socket."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile

import uvicorn
from uvicorn.supervisors import Multiprocess

from gateway.logging import server_log_config
from gateway.settings import LogFormat


class TcpConfig(uvicorn.Config):
    def bind_socket(self) -> socket.socket:
        """The listening socket the worker processes share, marked as TCP.

        uvicorn binds it as ``socket.socket(family)``, whose protocol number is 0, and the
        connections accepted on it inherit that. asyncio sets TCP_NODELAY only on sockets
        whose protocol is IPPROTO_TCP, so without this every response that leaves in two
        writes waits for the client's delayed ACK (about 40 ms on Linux): a bare endpoint
        served by two workers managed 170 requests/s where one worker managed 840.
        """
        bound = super().bind_socket()
        if bound.family not in (socket.AF_INET, socket.AF_INET6):
            return bound
        return socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())


def server_config(
    app: str,
    *,
    host: str,
    port: int,
    workers: int = 1,
    forwarded_allow_ips: str = "",
    log_format: LogFormat = LogFormat.JSON,
) -> TcpConfig:
    """The uvicorn configuration ``serve`` runs the app factory ``module:function`` with.

    The access log stays off: the gateway writes its own, without paths or query strings.
    uvicorn's own lines are rendered as the gateway's log events (gateway.logging).
    X-Forwarded-For and X-Forwarded-Proto are believed only from ``forwarded_allow_ips``
    (KVGW_FORWARDED_ALLOW_IPS); uvicorn's default believes any local process, which could
    then pass for any client address.
    """
    trusted = forwarded_allow_ips.strip()
    return TcpConfig(
        app,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level="warning",
        log_config=server_log_config(log_format),
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted,  # given, so uvicorn's FORWARDED_ALLOW_IPS is not read
    )


def serve_app(config: TcpConfig) -> bool:
    """Serve ``config`` (see :func:`server_config`) until stopped; False if it never started."""
    if config.workers == 1:
        server = uvicorn.Server(config)
        server.run()
        return server.started
    # The workers count into shared files, so that a scrape of /metrics, whichever worker
    # answers it, reports all of them (gateway.metrics). They are spawned, so they read
    # the variable when they import the metrics; an operator's own directory is kept.
    own = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    if own:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="kvgw-metrics-")
    try:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    finally:
        if own:
            shutil.rmtree(os.environ.pop("PROMETHEUS_MULTIPROC_DIR"), ignore_errors=True)
    return True
