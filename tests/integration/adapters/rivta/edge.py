"""The TLS edge in front of the gateway in the rivta tests: it verifies the client
certificate and forwards it in a header, as a reverse proxy at the edge does."""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx

from tests.support.pki import KeyPair


class _EdgeHandler(http.server.BaseHTTPRequestHandler):
    """Forward one request to the gateway with the client certificate the TLS layer
    verified, as a reverse proxy at the edge does; a copy of the header sent by the
    client itself is dropped first."""

    server: _EdgeServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        return

    def _forward(self, method: str) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        header = self.server.cert_header
        headers = {
            k: v
            for k, v in self.headers.items()
            if k.lower() not in ("host", "content-length", "connection", header.lower())
        }
        assert isinstance(self.connection, ssl.SSLSocket)
        der = self.connection.getpeercert(binary_form=True)
        if der:
            pem = ssl.DER_cert_to_PEM_cert(der)
            headers[header] = quote(pem)
        answer = httpx.request(
            method, f"{self.server.upstream}{self.path}", content=body, headers=headers, timeout=30
        )
        self.send_response(answer.status_code)
        for name in ("content-type",):
            if name in answer.headers:
                self.send_header(name, answer.headers[name])
        self.send_header("content-length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def do_POST(self) -> None:
        self._forward("POST")

    def do_GET(self) -> None:
        self._forward("GET")


class _EdgeServer(http.server.ThreadingHTTPServer):
    upstream: str
    cert_header: str


@contextmanager
def edge(upstream: str, server: KeyPair, client_ca: Path, cert_header: str) -> Iterator[str]:
    """A TLS edge on loopback in front of ``upstream``: it verifies client certificates
    against ``client_ca`` (a certificate is optional; a wrong one fails the handshake) and
    forwards the verified one in ``cert_header``. Yields ``https://127.0.0.1:PORT``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(server.cert, server.key)
    context.load_verify_locations(cafile=client_ca)
    context.verify_mode = ssl.CERT_OPTIONAL
    httpd = _EdgeServer(("127.0.0.1", 0), _EdgeHandler)
    httpd.upstream = upstream
    httpd.cert_header = cert_header
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
