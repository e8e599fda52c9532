"""A TLS-terminating front for the fhir-rest tests: unlike uvicorn's own TLS, it answers
a refused client certificate with a TLS alert."""

from __future__ import annotations

import select
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.pki import KeyPair


@contextmanager
def tls_front(backend: str, server: KeyPair, client_ca: Path) -> Iterator[str]:
    """A TLS-terminating front (like nginx before an application server) for the plain HTTP
    ``backend``: it asks for a client certificate from ``client_ca`` and, unlike uvicorn's
    own TLS, answers a refused certificate with a TLS alert. Yields ``https://127.0.0.1:PORT``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(server.cert), str(server.key))
    context.load_verify_locations(str(client_ca))
    context.verify_mode = ssl.CERT_REQUIRED
    target = backend.removeprefix("http://").rsplit(":", 1)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def pump(tls: ssl.SSLSocket, plain: socket.socket) -> None:
        while not stop.is_set():
            ready = [tls] if tls.pending() else select.select([tls, plain], [], [], 0.5)[0]
            for source in ready:
                data = source.recv(65536)
                if not data:
                    return
                (plain if source is tls else tls).sendall(data)

    def handle(raw: socket.socket) -> None:
        try:
            with (
                context.wrap_socket(raw, server_side=True) as tls,
                socket.create_connection((target[0], int(target[1]))) as plain,
            ):
                pump(tls, plain)
        except (OSError, ssl.SSLError):
            pass  # a refused handshake: OpenSSL has sent its alert
        finally:
            raw.close()

    def accept() -> None:
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=handle, args=(raw,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
