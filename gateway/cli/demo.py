"""``kv-gateway demo``: the whole story, in-process, told step by step for a new user.

It starts the gateway on a throwaway SQLite file with the demo directory, a tiny journal
system (the vårdcentral's FHIR endpoint) and a kommun webhook on loopback, and then plays:
a socialsekreterare in Gävle asks about Anna, who is listed at a vårdcentral in Jönköping
(another region); the gateway routes, checks consent, tracks the Task; the rehabkoordinator
accepts, asks a follow-up question and answers on the national form; the kommun is notified
and reads the answer. Every call is a real FHIR call with a real SMART token.
"""

from __future__ import annotations

import json
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from fastapi import FastAPI, Request
from joserfc import jwt
from joserfc.jwk import ECKey
from pydantic import SecretStr
from rich.console import Console
from rich.panel import Panel

from gateway.consent.builder import build_consent

console = Console()
EXAMPLE_ANSWER = "QuestionnaireResponse-example-questionnaireresponse.json"
FHIR_JSON = {"content-type": "application/fhir+json"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def _peer() -> Iterator[tuple[str, list[dict[str, Any]], list[dict[str, Any]]]]:
    """A journal system's FHIR endpoint and a kommun webhook, on one loopback server."""
    delivered: list[dict[str, Any]] = []
    notified: list[dict[str, Any]] = []
    peer = FastAPI()

    @peer.post("/fhir")
    async def transaction(request: Request) -> dict[str, Any]:
        delivered.append(await request.json())
        return {"resourceType": "Bundle", "type": "transaction-response", "entry": []}

    @peer.post("/hook")
    async def hook(request: Request) -> dict[str, Any]:
        notified.append(await request.json())
        return {}

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(peer, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", delivered, notified
    finally:
        server.should_exit = True
        thread.join(timeout=5)


def _say(who: str, what: str, style: str = "cyan") -> None:
    console.print(Panel(what, title=who, title_align="left", border_style=style))


def _token(http: Any, app: FastAPI, client_id: str, party: str, kind: str) -> dict[str, str]:
    from gateway.security.caller import PartyKind
    from gateway.security.clients import ClientSpec, register

    key = ECKey.generate_key("P-384")
    kid = uuid.uuid4().hex[:8]
    public = {"keys": [{**key.as_dict(private=False), "kid": kid, "alg": "ES384"}]}
    with app.state.session_factory() as session, session.begin():
        register(
            session,
            ClientSpec(client_id, client_id, party, PartyKind(kind), ("system/*.cruds",), public),
        )
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": "http://testserver/auth/token",
        "exp": now + 240,
        "jti": uuid.uuid4().hex,
    }
    assertion = jwt.encode({"alg": "ES384", "kid": kid}, claims, key, algorithms=["ES384"])
    response = http.post(
        "/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
            "scope": "system/*.cruds",
        },
    )
    response.raise_for_status()
    return {"authorization": f"Bearer {response.json()['access_token']}", **FHIR_JSON}


def _submission(personnummer: str) -> dict[str, Any]:
    p, role, consent, request = (f"urn:uuid:{uuid.uuid4()}" for _ in range(4))
    kommun = "Organization/kommun-2180"
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": p,
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [
                        {
                            "system": "http://electronichealth.se/identifier/personnummer",
                            "value": personnummer,
                        }
                    ],
                    "name": [{"family": "Testsson", "given": ["Anna"]}],
                },
            },
            {
                "fullUrl": role,
                "resource": {
                    "resourceType": "PractitionerRole",
                    "organization": {"reference": kommun},
                    "telecom": [{"system": "phone", "value": "+46 26 17 80 00"}],
                },
            },
            {
                "fullUrl": consent,
                "resource": build_consent(
                    p,
                    kommun,
                    start="2026-11-01",
                    end="2027-11-01",
                    given="2026-11-01T10:00:00+01:00",
                ),
            },
            {
                "fullUrl": request,
                "resource": {
                    "resourceType": "ServiceRequest",
                    "status": "active",
                    "intent": "order",
                    "identifier": [
                        {
                            "system": "https://gavle.se/ekonomiskt-bistand/arende",
                            "value": "2026-4711",
                        }
                    ],
                    "subject": {"reference": p},
                    "requester": {"reference": role},
                    "supportingInfo": [{"reference": consent}],
                    "note": [
                        {
                            "text": "Planerad praktik 20 timmar i veckan. Personen uppger att ryggbesvär hindrar deltagande."
                        }
                    ],
                },
            },
        ],
    }


def _answer(request_ref: str) -> dict[str, Any]:
    compiled = Path(__file__).resolve().parents[2] / "profiles" / "compiled" / EXAMPLE_ANSWER
    answer: dict[str, Any] = json.loads(compiled.read_text())
    answer.pop("id", None)
    answer["basedOn"] = [{"reference": request_ref}]
    answer["author"] = {"reference": "PractitionerRole/rehabkoordinator-jonkoping"}
    return answer


def demo(
    keep: Annotated[bool, typer.Option(help="Keep the demo database and print its path")] = False,
) -> None:
    """Run the whole story in-process and tell each FHIR step."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from fastapi.testclient import TestClient  # in-process HTTP, used by the demo only

    from gateway.app import create_app
    from gateway.logging import configure_logging
    from gateway.routing.demo_directory import PERSONS, DemoPeers, seed_demo
    from gateway.settings import LogFormat, Settings
    from gateway.store.migrate import upgrade
    from gateway.store.resources import ResourceStore

    configure_logging(LogFormat.CONSOLE, "WARNING")  # the story is the output, not the log
    folder = Path(tempfile.mkdtemp(prefix="kv-gateway-demo-"))
    url = f"sqlite:///{folder / 'demo.db'}"
    upgrade(url)
    settings = Settings(
        database_url=SecretStr(url),
        public_base_url="http://testserver",
        delivery_worker_in_process=False,
        _env_file=None,
    )
    app = create_app(settings)
    anna = next(p for p in PERSONS if p.key == "anna")
    with _peer() as (peer, delivered, notified), TestClient(app) as http:
        with app.state.session_factory() as session, session.begin():
            seed_demo(
                ResourceStore(session), app.state.validator, DemoPeers(f"{peer}/fhir"), settings
            )
        kommun = _token(http, app, "gavle-ekonomiskt-bistand", "Organization/kommun-2180", "kommun")
        unit = _token(
            http, app, "jonkoping-centrum-rehab", "Organization/vc-jonkoping-centrum", "vardcentral"
        )
        masked = "Anna (personnummer visas inte)"
        _say(
            "Förberedelse",
            "Katalog: 21 regioner, 290 kommuner och fem demo-vårdcentraler. Två klientsystem har fått SMART-åtkomstnycklar: Gävle kommuns verksamhetssystem och Vårdcentralen Jönköping Centrums journalsystem.",
            "white",
        )

        http.post(
            "/fhir/Subscription",
            headers=kommun,
            json={
                "resourceType": "Subscription",
                "status": "requested",
                "reason": "Besked när utlåtanden är klara",
                "criteria": "Task?status=completed",
                "channel": {"type": "rest-hook", "endpoint": f"{peer}/hook"},
            },
        ).raise_for_status()
        _say(
            "Kommun → gateway",
            "Gävle prenumererar på klara uppgifter (Subscription, rest-hook). Notiser bär bara uppgiftens referens.",
        )

        submitted = http.post(
            "/fhir/ServiceRequest/$submit", headers=kommun, json=_submission(anna.personnummer)
        )
        submitted.raise_for_status()
        task = submitted.json()
        _say(
            "Kommun → gateway: POST ServiceRequest/$submit",
            f"Förfrågan om medicinskt utlåtande (Patient, socialsekreterare, skriftligt samtycke, ServiceRequest).\nGatewayen kontrollerade profiler, samtycke och listning och skapade uppgiften {task['id'][:8]}…\nStatus: {task['status']} · ägare: {task['owner']['reference']} · önskat svar senast {task['restriction']['period']['end']}",
            "green",
        )

        route = http.post(
            "/fhir/$resolve-route",
            headers=kommun,
            json={
                "resourceType": "Parameters",
                "parameter": [
                    {
                        "name": "person",
                        "valueIdentifier": {
                            "system": "http://electronichealth.se/identifier/personnummer",
                            "value": anna.personnummer,
                        },
                    },
                    {"name": "kommunkod", "valueString": "2180"},
                ],
            },
        )
        route.raise_for_status()
        steps = [p for p in route.json()["parameter"] if p.get("name") == "step"]
        reasoning = "\n".join(
            f"• {next(x['valueString'] for x in s['part'] if x['name'] == 'text')}" for s in steps
        )
        _say(
            "Gateway: var är personen listad?",
            f"Gävle frågar varför förfrågan gick dit (POST $resolve-route; en kommun frågar bara om personer den har skickat förfrågan om).\nPerson {masked}, frågande kommun Gävle (2180).\n{reasoning}",
            "magenta",
        )

        app.state.worker.drain()
        task = http.get(f"/fhir/Task/{task['id']}", headers=unit).json()
        _say(
            "Gateway → vårdcentralens journalsystem (fhir-rest)",
            f"Leverans via outboxen: transaction-Bundle med {len(delivered[0]['entry'])} resurser. Samtycket kontrollerades igen vid leveransen.\nUppgiftens status: {task['status']}",
            "green",
        )

        task = http.put(
            f"/fhir/Task/{task['id']}", headers=unit, json={**task, "status": "accepted"}
        ).json()
        http.post(
            "/fhir/Communication",
            headers=unit,
            json={
                "resourceType": "Communication",
                "status": "completed",
                "partOf": [{"reference": f"Task/{task['id']}"}],
                "payload": [
                    {"contentString": "Vilka arbetsuppgifter ingår i praktiken? Ring gärna."}
                ],
            },
        ).raise_for_status()
        http.post(
            "/fhir/Communication",
            headers=kommun,
            json={
                "resourceType": "Communication",
                "status": "completed",
                "partOf": [{"reference": f"Task/{task['id']}"}],
                "payload": [{"contentString": "Lager och packning, mest stående arbete."}],
            },
        ).raise_for_status()
        _say(
            "Rehabkoordinator ↔ socialsekreterare",
            f"Uppgiften accepteras (status {task['status']}). En följdfråga och ett svar skickas som Communication kopplade till uppgiften; samtycket kontrolleras för varje utlämnande.",
        )

        answered = http.post(
            "/fhir/QuestionnaireResponse", headers=unit, json=_answer(task["focus"]["reference"])
        )
        answered.raise_for_status()
        app.state.worker.drain()
        task = http.get(f"/fhir/Task/{task['id']}", headers=kommun).json()
        _say(
            "Vårdcentral → gateway: POST QuestionnaireResponse",
            f"Utlåtandet validerades mot det nationella formuläret. Uppgiften är {task['status']} med utlåtandet som utdata.\nKommunen fick {len(notified)} notis via sin rest-hook.",
            "green",
        )

        answers = http.get(
            "/fhir/QuestionnaireResponse",
            headers=kommun,
            params={"based-on": task["focus"]["reference"]},
        ).json()
        shown = answers["entry"][0]["resource"]
        lines = [
            f"• {item['linkId']}: {len(item.get('item', item.get('answer', [])))} svar"
            for item in shown.get("item", [])[:6]
        ]
        _say(
            "Kommun läser svaret: GET QuestionnaireResponse?based-on=…",
            "\n".join(lines) + "\n…",
            "green",
        )

        from gateway.security.audit import AuditLog

        report = AuditLog(settings.audit_chain_key.get_secret_value().encode()).verify(
            app.state.session_factory
        )
        _say(
            "Spårbarhet",
            f"{report.checked} AuditEvents skrevs, hashkedjan är {'intakt' if report.intact else 'BRUTEN'}.",
            "white",
        )
    app.state.engine.dispose()
    if keep:
        typer.echo(f"demo database kept at {folder / 'demo.db'}")
