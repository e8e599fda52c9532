"""``kv-gateway clients|keys|audit|retention``: operating the security layer."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import httpx
import typer
from joserfc import jwt
from joserfc.jwk import ECKey
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from gateway.cli.common import fail, settings_or_fail, user_errors
from gateway.database import Database, open_database
from gateway.security.caller import PartyKind
from gateway.security.clients import (
    ClientRegistrationError,
    ClientSpec,
    all_clients,
    register,
    set_enabled,
)
from gateway.security.models import AuthClient
from gateway.settings import Environment
from gateway.store.resources import ResourceStore

clients_app = typer.Typer(
    help="Registered client systems (SMART Backend Services).", no_args_is_help=True
)
keys_app = typer.Typer(help="Encryption keys for data at rest.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
retention_app = typer.Typer(help="Purging closed cases.", no_args_is_help=True)
console = Console()

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@contextmanager
def database() -> Iterator[Database]:
    settings = settings_or_fail()
    with user_errors():
        handle = open_database(settings)
        try:
            yield handle
        finally:
            handle.dispose()


@clients_app.command("add")
def clients_add(
    client_id: Annotated[str, typer.Argument(help="The client's id (the assertion's iss and sub)")],
    party: Annotated[
        str, typer.Option(help="Organization the client acts for, e.g. Organization/kommun-0180")
    ],
    kind: Annotated[PartyKind, typer.Option(help="What kind of party that is")],
    scope: Annotated[list[str], typer.Option(help="SMART v2 system scope; repeat for more")],
    jwks: Annotated[Path | None, typer.Option(help="File with the client's public JWKS")] = None,
    jwks_uri: Annotated[
        str | None, typer.Option(help="Where the client publishes its JWKS")
    ] = None,
    cert_hsa_id: Annotated[
        str | None, typer.Option(help="HSA-id in its TLS client certificate")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Human-readable name")] = None,
) -> None:
    """Register a client system for a party of the directory (or the gateway's own)."""
    settings = settings_or_fail()
    with user_errors():
        keys = json.loads(jwks.read_text()) if jwks else None
    spec = ClientSpec(
        client_id, name or client_id, party, kind, tuple(scope), keys, jwks_uri, cert_hsa_id
    )
    with database() as db, user_errors(), db.sessions() as session, session.begin():
        try:
            register(
                session,
                spec,
                loopback_http=settings.environment is Environment.DEVELOPMENT,
                check_directory=True,
            )
        except ClientRegistrationError as error:
            fail(str(error))
    typer.echo(f"client {client_id} registered for {party}")


@clients_app.command("list")
def clients_list() -> None:
    """List registered clients."""
    with database() as db, db.sessions() as session:
        table = Table("client", "party", "kind", "scopes", "keys", "enabled")
        for client in all_clients(session):
            keys = "jwks" if client.jwks else client.jwks_uri or f"cert {client.cert_hsa_id}"
            table.add_row(
                client.client_id,
                client.party,
                client.party_kind,
                client.scopes,
                keys,
                "yes" if client.enabled else "NO",
            )
    console.print(table)


def _set_enabled(client_id: str, enabled: bool) -> None:
    with database() as db, db.sessions() as session, session.begin():
        try:
            set_enabled(session, client_id, enabled)
        except ClientRegistrationError as error:
            fail(str(error))


@clients_app.command("disable")
def clients_disable(client_id: str) -> None:
    """Disable a client: its tokens stop working at once."""
    _set_enabled(client_id, False)
    typer.echo(f"client {client_id} disabled")


@clients_app.command("enable")
def clients_enable(client_id: str) -> None:
    """Enable a disabled client again."""
    _set_enabled(client_id, True)
    typer.echo(f"client {client_id} enabled")


@clients_app.command("token")
def clients_token(
    client_id: str,
    key: Annotated[Path, typer.Option(help="The client's private JWK (JSON), ES384")],
    scope: Annotated[str, typer.Option(help="Space-separated scopes to ask for")] = "system/*.rs",
    url: Annotated[
        str | None, typer.Option(help="Gateway base URL (default KVGW_PUBLIC_BASE_URL)")
    ] = None,
) -> None:
    """Get an access token the way a client system does (for trying the API by hand)."""
    settings = settings_or_fail()
    base = (url or settings.public_base_url).rstrip("/")
    private, kid = _signing_key(key)
    with user_errors():
        now = int(time.time())
        claims = {
            "iss": client_id,
            "sub": client_id,
            "aud": f"{base}/auth/token",
            "exp": now + 240,
            "jti": uuid.uuid4().hex,
        }
        signed = jwt.encode({"alg": "ES384", "kid": kid}, claims, private, algorithms=["ES384"])
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": signed,
            "scope": scope,
        }
        try:
            response = httpx.post(f"{base}/auth/token", data=form, timeout=10)
        except httpx.HTTPError as error:
            fail(f"cannot reach {base}: {type(error).__name__}")
    if response.status_code != 200:
        fail(f"token refused: {response.text}")
    typer.echo(response.json()["access_token"])


def _signing_key(path: Path) -> tuple[ECKey, str]:
    """The client's private ES384 key and its kid from a JWK file, or one line saying why
    the file holds none."""
    with user_errors():
        data = json.loads(path.read_text())
    if not isinstance(data, dict):
        fail(f"{path}: not a JWK (a JSON object)")
    if data.get("kty") != "EC" or data.get("crv") != "P-384":
        fail(f"{path}: not an ES384 key (a JWK with kty EC and crv P-384)")
    try:
        private = ECKey.import_key(data)
    except Exception as error:  # joserfc and cryptography raise several types for bad keys
        fail(f"{path}: the key cannot be read: {str(error) or 'a value is malformed'}")
    if not private.is_private:
        fail(f"{path}: a public key; give the client's private JWK")
    kid = data.get("kid")
    if not isinstance(kid, str) or not kid:
        fail(f"{path}: the key has no kid (the kid of its public key in the client's JWKS)")
    return private, kid


@keys_app.command("new")
def keys_new() -> None:
    """Print a fresh AES-256 key (base64) to add to KVGW_ENCRYPTION_KEYS."""
    from gateway.security.protection import new_key

    typer.echo(new_key())


@keys_app.command("rotate")
def keys_rotate(batch_size: Annotated[int, typer.Option(min=1)] = 500) -> None:
    """Re-encrypt every stored body under the active key, in batches, while serving."""
    from gateway.security.key_rotation import count_stale, rotate

    with database() as db, user_errors():
        stale = count_stale(db.sessions, db.protection)
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"re-encrypting under {db.protection.active_kid}", total=stale)
            done = rotate(
                db.sessions,
                db.protection,
                batch_size=batch_size,
                progress=lambda n: progress.advance(task, n),
            )
    typer.echo(f"re-encrypted {done} stored versions under key {db.protection.active_kid}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit hash chain: any altered, removed or reordered event is reported."""
    from gateway.security.audit import AuditLog

    settings = settings_or_fail()
    audit = AuditLog(settings.audit_chain_key.get_secret_value().encode())
    with database() as db, user_errors():
        audit.seal_waiting(db.sessions)  # events a busy chain left waiting, linked first
        report = audit.verify(db.sessions)
    typer.echo(f"checked {report.checked} events; head {report.head_hash}")
    if report.waiting:
        typer.echo(f"{report.waiting} events still waiting to be linked (the chain was busy)")
    for problem in report.problems:
        where = f"event #{problem.seq}" if problem.seq is not None else "chain"
        typer.echo(f"BROKEN {where}: {problem.problem}", err=True)
    if not report.intact:
        raise typer.Exit(1)
    typer.echo("audit chain intact")


@retention_app.command("run")
def retention_run(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only report what would go")] = False,
    days: Annotated[int | None, typer.Option(help="Override KVGW_RETENTION_DAYS")] = None,
) -> None:
    """Purge closed cases older than the retention period (the audit is kept)."""
    from gateway.security.retention import execute, plan

    settings = settings_or_fail()
    with database() as db, user_errors(), db.sessions() as session, session.begin():
        store = ResourceStore(session)
        retention = plan(store, days or settings.retention_days)
        verb = "would purge" if dry_run else "purging"
        typer.echo(
            f"{verb} {len(retention.cases)} closed cases ({retention.resource_count} resources) "
            f"last changed before {retention.cutoff.date().isoformat()}"
        )
        for case in retention.cases:
            typer.echo(f"  {case.task}: {len(case.resources)} resources")
        if not dry_run:
            typer.echo(f"purged {execute(store, retention)} resources")


DEMO_CLIENTS: tuple[tuple[str, str, PartyKind, tuple[str, ...]], ...] = (
    (
        "demo-kommun-0180",
        "Organization/kommun-0180",
        PartyKind.KOMMUN,
        (
            "system/ServiceRequest.crus",
            "system/Consent.crus",
            "system/Patient.crus",
            "system/Task.rus",
            "system/QuestionnaireResponse.rs",
            "system/Communication.crus",
            "system/Organization.rs",
            "system/Endpoint.rs",
            "system/PractitionerRole.crus",
            "system/Practitioner.crus",
            "system/Questionnaire.rs",
            "system/Subscription.cruds",
        ),
    ),
    (
        "demo-vc-jonkoping-centrum",
        "Organization/vc-jonkoping-centrum",
        PartyKind.VARDCENTRAL,
        (
            "system/Task.rus",
            "system/ServiceRequest.rs",
            "system/Consent.rs",
            "system/Patient.rs",
            "system/QuestionnaireResponse.crus",
            "system/Communication.crus",
            "system/Organization.rs",
            "system/Endpoint.rs",
            "system/PractitionerRole.crus",
            "system/Practitioner.crus",
            "system/Questionnaire.rs",
        ),
    ),
    (
        "demo-region-06",
        "Organization/region-06",
        PartyKind.REGION,
        ("system/Organization.crus", "system/Endpoint.crus", "system/PractitionerRole.crus"),
    ),
    ("demo-test-harness", "Organization/test-harness", PartyKind.TEST_HARNESS, ("system/*.crs",)),
    ("demo-operator", "Organization/operator", PartyKind.OPERATOR, ("system/*.cruds",)),
    ("demo-auditor", "Organization/auditor", PartyKind.AUDITOR, ("system/AuditEvent.rs",)),
)


@clients_app.command("demo")
def clients_demo(
    keys_dir: Annotated[Path, typer.Option(help="Where the demo private keys are written")] = Path(
        "var/demo-keys"
    ),
) -> None:
    """Register demo clients with fresh ES384 keys (idempotent), and say how to get a token."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    created = 0
    with database() as db, db.sessions() as session, session.begin():
        known = {c.client_id for c in all_clients(session)}
        for client_id, party, kind, scopes in DEMO_CLIENTS:
            key_file = keys_dir / f"{client_id}.jwk.json"
            if client_id in known and key_file.exists():
                continue
            private = ECKey.generate_key("P-384")
            kid = uuid.uuid4().hex[:12]
            key_file.write_text(
                json.dumps({**private.as_dict(private=True), "kid": kid, "alg": "ES384"})
            )
            key_file.chmod(0o600)
            public = {"keys": [{**private.as_dict(private=False), "kid": kid, "alg": "ES384"}]}
            if client_id in known:
                session.delete(session.get(AuthClient, client_id))
                session.flush()
            register(
                session, ClientSpec(client_id, f"Demo: {client_id}", party, kind, scopes, public)
            )
            created += 1
    typer.echo(f"demo clients ready ({created} new); private keys in {keys_dir}/")
    typer.echo(
        "  get a token:  .venv/bin/kv-gateway clients token demo-kommun-0180 "
        f"--key {keys_dir}/demo-kommun-0180.jwk.json --scope 'system/Organization.rs'"
    )
    base = settings_or_fail().public_base_url.rstrip("/")
    typer.echo(f'  then:         curl -H "Authorization: Bearer $TOKEN" {base}/fhir/Organization')
