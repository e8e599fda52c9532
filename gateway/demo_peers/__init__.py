"""Demo peers on loopback: the journal systems the demo directory's vårdcentraler are reached at.

``kv-gateway serve --demo-peers`` (what ``make run`` runs) starts both on threads of the
gateway process, so they live and die with the gateway:

- the fhir-rest journal system (:mod:`gateway.demo_peers.fhir_journal`), with the fhir-rest
  adapter's ``demo`` profile configured for it: SMART Backend Services with a key the demo
  keeps under ``var/demo-keys``, and polling for status changes and answers;
- the RIVTA journal system (:mod:`gateway.demo_peers.rivta_journal`) on the next port, which
  reports back to the gateway's UpdateMedicalStatementRequest. No TLS proxy runs in the demo,
  so it sends a throwaway certificate in the header such a proxy would, and the gateway is
  told to read that header (:func:`use_demo_certificate_header` sets
  ``KVGW_MTLS_CLIENT_CERT_HEADER`` unless it is set). That is safe only on loopback: anyone
  who can reach the gateway could send the header.

Each accepts a request after a few seconds and answers it on the national form a little later.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from joserfc.jwk import ECKey

from gateway.demo_peers import fhir_journal, rivta_journal
from gateway.demo_peers.auto_answer import AutoAnswer
from gateway.routing.demo_directory import RIVTA_JOURNAL_SYSTEM_HSA_ID
from gateway.settings import get_settings

DEMO_PROFILE = "demo"  # the fhir-rest profile the demo directory's Endpoints name
DEMO_CLIENT_ID = "kv-gateway-demo"
KEY_FILE = "fhir-rest-gateway.jwk.json"
PROFILES_ENV = "KVGW_FHIR_REST_PROFILES"
CERT_HEADER_ENV = "KVGW_MTLS_CLIENT_CERT_HEADER"
DEMO_CERT_HEADER = "x-kvgw-demo-client-cert"


class DemoPeerError(RuntimeError):
    """A demo peer could not start (its port is taken, say)."""


@dataclass(frozen=True)
class RunningPeer:
    name: str
    url: str  # the FHIR base the demo directory points at
    home: str  # a page that shows what has arrived
    stop: Callable[[], None]


def gateway_key(keys_dir: Path) -> tuple[ECKey, Path]:
    """The gateway's private key towards the demo journal system (made once, mode 0600)."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    path = keys_dir / KEY_FILE
    if path.exists():
        return ECKey.import_key(json.loads(path.read_text(encoding="utf-8"))), path
    key = ECKey.generate_key("P-384")
    path.write_text(json.dumps({**key.as_dict(private=True), "kid": "demo-gw", "alg": "ES384"}))
    path.chmod(0o600)
    return key, path


def demo_profile(origin: str, key_file: Path) -> dict[str, Any]:
    """The fhir-rest adapter profile for the demo journal system at ``origin``."""
    return {
        "form": "bundle",
        "receive": "poll",
        "smart": {
            "token_url": f"{origin}/auth/token",
            "client_id": DEMO_CLIENT_ID,
            "key_file": str(key_file.resolve()),
            "alg": "ES384",
        },
    }


def configure_demo_profile(origin: str, key_file: Path) -> None:
    """Add the ``demo`` profile to the adapter's settings (the environment the gateway reads),
    keeping any profiles already configured there."""
    try:
        profiles = json.loads(os.environ.get(PROFILES_ENV) or "{}")
    except ValueError:
        raise DemoPeerError(f"{PROFILES_ENV} is not valid JSON") from None
    profiles.setdefault(DEMO_PROFILE, demo_profile(origin, key_file))
    os.environ[PROFILES_ENV] = json.dumps(profiles)


def _serve_on_thread(app: Any, name: str, host: str, port: int) -> Callable[[], None]:
    """Serve ``app`` on ``host:port`` on a daemon thread; returns how to stop it."""
    config = uvicorn.Config(app, host=host, port=port, log_level="critical", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True, name=name)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise DemoPeerError(
                f"the {name} cannot listen on {host}:{port} (is the port taken? "
                "set PEER_PORT for make run, or --demo-peer-port)"
            )
        time.sleep(0.02)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=5)

    return stop


def start_fhir_journal(
    port: int,
    keys_dir: Path,
    auto: AutoAnswer | None = None,
    host: str = "127.0.0.1",
) -> RunningPeer:
    """Start the demo fhir-rest journal system on ``host:port`` on a daemon thread."""
    key, key_file = gateway_key(keys_dir)
    journal = fhir_journal.JournalSystem(require_auth=True, auto=auto or AutoAnswer())
    journal.auth.register(
        DEMO_CLIENT_ID,
        {"keys": [{**key.as_dict(private=False), "kid": "demo-gw", "alg": "ES384"}]},
    )
    stop = _serve_on_thread(journal.app(), "demo fhir-rest journal system", host, port)
    origin = f"http://{host}:{port}"
    configure_demo_profile(origin, key_file)
    return RunningPeer("fhir-rest", f"{origin}/fhir", f"{origin}/", stop)


def use_demo_certificate_header() -> None:
    """Have the gateway read forwarded client certificates from the demo's header, unless
    a header is configured. The settings are read again afterwards."""
    if CERT_HEADER_ENV not in os.environ:
        os.environ[CERT_HEADER_ENV] = DEMO_CERT_HEADER
        get_settings.cache_clear()


def start_rivta_journal(
    port: int,
    gateway_url: str,
    gateway_hsa_id: str,
    cert_header: str,
    auto: AutoAnswer | None = None,
    host: str = "127.0.0.1",
) -> RunningPeer:
    """Start the demo RIVTA journal system on ``host:port`` on a daemon thread, reporting
    back to the gateway at ``gateway_url`` (logical address ``gateway_hsa_id``), with its
    certificate in ``cert_header`` as a TLS proxy in front of the gateway would send it."""
    link = rivta_journal.GatewayLink(
        url=f"{gateway_url.rstrip('/')}/rivta/UpdateMedicalStatementRequest/1/rivtabp21",
        gateway_hsa_id=gateway_hsa_id,
        sender_hsa_id=RIVTA_JOURNAL_SYSTEM_HSA_ID,
        forward_cert_header=cert_header,
        forward_cert_pem=rivta_journal.throwaway_certificate(RIVTA_JOURNAL_SYSTEM_HSA_ID),
    )
    journal = rivta_journal.RivtaJournal(link=link, auto=auto or AutoAnswer())
    stop = _serve_on_thread(journal.app(), "demo RIVTA journal system", host, port)

    def stop_both() -> None:
        stop()
        journal.close()

    origin = f"http://{host}:{port}"
    return RunningPeer("rivta", f"{origin}{rivta_journal.SERVICE_PATH}", f"{origin}/", stop_both)
