"""Demo peers on loopback: the journal systems the demo directory's vårdcentraler are reached at.

``kv-gateway serve --demo-peers`` (what ``make run`` runs) starts the fhir-rest demo
journal system (:mod:`gateway.demo_peers.fhir_journal`) on a thread of the gateway process,
so it lives and dies with the gateway, and configures the fhir-rest adapter's ``demo``
profile for it: SMART Backend Services with a key the demo keeps under ``var/demo-keys``,
and polling for status changes and answers. The demo journal system accepts each request
after a few seconds and answers it on the national form a little later.
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

from gateway.demo_peers.fhir_journal import AutoAnswer, JournalSystem

DEMO_PROFILE = "demo"  # the fhir-rest profile the demo directory's Endpoints name
DEMO_CLIENT_ID = "kv-gateway-demo"
KEY_FILE = "fhir-rest-gateway.jwk.json"
PROFILES_ENV = "KVGW_FHIR_REST_PROFILES"


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


def start_fhir_journal(
    port: int, keys_dir: Path, auto: AutoAnswer | None = None, host: str = "127.0.0.1"
) -> RunningPeer:
    """Start the demo journal system on ``host:port`` on a daemon thread."""
    key, key_file = gateway_key(keys_dir)
    journal = JournalSystem(require_auth=True, auto=auto or AutoAnswer())
    journal.auth.register(
        DEMO_CLIENT_ID,
        {"keys": [{**key.as_dict(private=False), "kid": "demo-gw", "alg": "ES384"}]},
    )
    config = uvicorn.Config(
        journal.app(), host=host, port=port, log_level="critical", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True, name="demo-fhir-journal")
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise DemoPeerError(
                f"the demo journal system cannot listen on {host}:{port} (is the port taken? "
                "set PEER_PORT for make run, or --demo-peer-port)"
            )
        time.sleep(0.02)
    origin = f"http://{host}:{port}"
    configure_demo_profile(origin, key_file)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=5)

    return RunningPeer("fhir-rest", f"{origin}/fhir", f"{origin}/", stop)
