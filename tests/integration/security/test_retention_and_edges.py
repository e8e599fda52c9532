"""Retention of closed cases, mutual TLS identity at the edge, client administration."""

from __future__ import annotations

import datetime
from typing import Any
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Engine, text

from gateway.app import create_app
from gateway.security.caller import PartyKind
from gateway.settings import AuthMode, Environment, Settings
from tests.integration.test_cli import run_cli
from tests.support.auth import register_client
from tests.support.fhir_data import FHIR_JSON, patient

KOMMUN = "Organization/kommun-0180"


def _role(app: FastAPI, *parties: str, practitioner: str | None = None) -> str:
    """A kommun's PractitionerRole: granted to ``parties``, or to none (in the directory),
    naming ``practitioner`` if given."""
    from gateway.store.resources import ResourceStore

    body: dict[str, Any] = {
        "resourceType": "PractitionerRole",
        "organization": {"reference": KOMMUN},
    }
    if practitioner is not None:
        body["practitioner"] = {"reference": practitioner}
    with app.state.session_factory() as session, session.begin():
        store = ResourceStore(session)
        role = store.create(body)
        store.grant("PractitionerRole", role.id, set(parties))
    return role.reference


def _practitioner(app: FastAPI, *parties: str) -> str:
    """A Practitioner granted to ``parties`` (as gateway.security.tenancy grants them)."""
    from gateway.store.resources import ResourceStore

    with app.state.session_factory() as session, session.begin():
        store = ResourceStore(session)
        person = store.create({"resourceType": "Practitioner", "name": [{"family": "Handläggare"}]})
        store.grant("Practitioner", person.id, set(parties))
    return person.reference


def _case(app: FastAPI, status: str, requester: str | None = None) -> dict[str, str]:
    """A whole case written straight into the store (retention is about storage), asked by
    ``requester`` or by a role of the kommun's own."""
    from gateway.store.resources import ResourceStore

    requester = requester or _role(app, KOMMUN)
    with app.state.session_factory() as session, session.begin():
        store = ResourceStore(session)
        person = store.create(patient(31))
        consent = store.create(
            {
                "resourceType": "Consent",
                "status": "active",
                "scope": {"text": "x"},
                "category": [{"text": "x"}],
            }
        )
        request = store.create(
            {
                "resourceType": "ServiceRequest",
                "status": "completed",
                "intent": "order",
                "subject": {"reference": person.reference},
                "requester": {"reference": requester},
                "supportingInfo": [{"reference": consent.reference}],
            }
        )
        answer = store.create(
            {
                "resourceType": "QuestionnaireResponse",
                "status": "completed",
                "basedOn": [{"reference": request.reference}],
            }
        )
        task = store.create(
            {
                "resourceType": "Task",
                "status": status,
                "intent": "order",
                "focus": {"reference": request.reference},
                "for": {"reference": person.reference},
                "requester": {"reference": requester},
            }
        )
    return {
        "PractitionerRole": requester.split("/")[1],
        "Patient": person.id,
        "Consent": consent.id,
        "ServiceRequest": request.id,
        "QuestionnaireResponse": answer.id,
        "Task": task.id,
    }


def _age_everything(engine: Engine, days: int) -> None:
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE fhir_resource SET last_updated = :when"),
            {
                "when": datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
                - datetime.timedelta(days=days)
            },
        )


def test_retention_dry_run_reports_and_run_purges_closed_cases_only(
    app: FastAPI, client: TestClient, engine: Engine, database_url: str
) -> None:
    closed = _case(app, "completed")
    _age_everything(engine, 400)
    still_open = client.post(
        "/fhir/Task",
        json={"resourceType": "Task", "status": "in-progress", "intent": "order"},
        headers=FHIR_JSON,
    ).json()
    env = {"KVGW_DATABASE_URL": database_url, "KVGW_RETENTION_DAYS": "365"}
    dry = run_cli("retention", "run", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert "would purge 1 closed cases (6 resources)" in dry.stdout
    for resource_type, res_id in closed.items():
        assert client.get(f"/fhir/{resource_type}/{res_id}").status_code == 200
    run = run_cli("retention", "run", env=env)
    assert "purged 6 resources" in run.stdout
    for resource_type, res_id in closed.items():
        assert client.get(f"/fhir/{resource_type}/{res_id}").status_code == 404
    assert client.get(f"/fhir/Task/{still_open['id']}").status_code == 200
    events = client.get("/fhir/AuditEvent", params={"entity": f"Task/{closed['Task']}"}).json()
    assert events["total"] >= 1, "the audit outlives the case"


def test_a_requester_role_still_asking_or_in_the_directory_stays(
    app: FastAPI, client: TestClient, engine: Engine, database_url: str
) -> None:
    in_directory = _role(app)
    asking_still = _role(app, KOMMUN)
    closed = [_case(app, "completed", in_directory), _case(app, "cancelled", asking_still)]
    still_open = _case(app, "in-progress", asking_still)
    _age_everything(engine, 400)

    run = run_cli("retention", "run", env={"KVGW_DATABASE_URL": database_url})

    assert "purged 10 resources" in run.stdout, run.stdout  # five of each closed case
    for case in closed:
        assert client.get(f"/fhir/Task/{case['Task']}").status_code == 404
    for role in (in_directory, asking_still):
        assert client.get(f"/fhir/{role}").status_code == 200
    assert client.get(f"/fhir/Task/{still_open['Task']}").status_code == 200


def test_a_closed_cases_practitioner_goes_with_its_role_unless_still_named_or_shared(
    app: FastAPI, client: TestClient, engine: Engine
) -> None:
    """A kommun's socialsekreterare (granted to it alone) goes with the role that the
    closed case purges; one a remaining role names, or one in the directory, stays."""
    from gateway.security.retention import execute, plan
    from gateway.security.tenancy import registrar
    from gateway.store.resources import ResourceStore
    from gateway.store.visibility import EVERY_PARTY

    own = _practitioner(app, KOMMUN, registrar(KOMMUN))
    named_still = _practitioner(app, KOMMUN, registrar(KOMMUN))
    region = "Organization/region-01"
    in_directory = _practitioner(app, region, registrar(region), EVERY_PARTY)
    closed = [
        _case(app, "completed", _role(app, KOMMUN, practitioner=person))
        for person in (own, named_still, in_directory)
    ]
    _role(app, KOMMUN, practitioner=named_still)  # a role no closed case purges
    _age_everything(engine, 400)

    with app.state.session_factory() as session, session.begin():
        store = ResourceStore(session)
        purged = execute(store, plan(store, 365))

    assert purged == 3 * 6 + 1, "each case with its role, and one Practitioner"
    for case in closed:
        assert client.get(f"/fhir/PractitionerRole/{case['PractitionerRole']}").status_code == 404
    assert client.get(f"/fhir/{own}").status_code == 404
    assert client.get(f"/fhir/{named_still}").status_code == 200
    assert client.get(f"/fhir/{in_directory}").status_code == 200


def _certificate(hsa_id: str, *, days: int = 30) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "kommun system"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, hsa_id),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return quote(cert.public_bytes(serialization.Encoding.PEM).decode())


def test_mutual_tls_identity_from_the_proxy_header(settings: Settings, engine: Engine) -> None:
    app: FastAPI = create_app(
        settings.model_copy(update={"mtls_client_cert_header": "x-ssl-client-cert"}), engine=engine
    )
    register_client(
        app,
        "Organization/kommun-0180",
        PartyKind.KOMMUN,
        ("system/Patient.rs",),
        cert_hsa_id="SE2120000142-SYS1",
    )
    with TestClient(app) as http:
        known = http.get(
            "/fhir/Patient", headers={"x-ssl-client-cert": _certificate("SE2120000142-SYS1")}
        )
        assert known.status_code == 200
        unknown = http.get(
            "/fhir/Patient", headers={"x-ssl-client-cert": _certificate("SE2120000142-OTHER")}
        )
        assert unknown.status_code == 401
        expired = http.get(
            "/fhir/Patient",
            headers={"x-ssl-client-cert": _certificate("SE2120000142-SYS1", days=-1)},
        )
        assert expired.status_code == 401
        garbage = http.get("/fhir/Patient", headers={"x-ssl-client-cert": "not a certificate"})
        assert garbage.status_code == 401
    off: FastAPI = create_app(settings, engine=engine)
    with TestClient(off) as http:
        ignored = http.get(
            "/fhir/Patient", headers={"x-ssl-client-cert": _certificate("SE2120000142-SYS1")}
        )
        assert ignored.status_code == 401, "the header is not trusted unless configured"


@pytest.mark.parametrize(
    "update",
    [{"auth_mode": AuthMode.DEMO}, {}],
)
def test_production_refuses_demo_mode_and_development_keys(update: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Settings(environment=Environment.PRODUCTION, **update)


def test_clients_cli_add_list_disable(database_url: str, tmp_path: Any) -> None:
    from tests.support.auth import new_identity

    jwks_file = tmp_path / "jwks.json"
    import json

    jwks_file.write_text(json.dumps(new_identity().public_jwks()))
    env = {"KVGW_DATABASE_URL": database_url}
    # A kommun's client acts for the kommun's Organization in the directory.
    assert run_cli("directory", "seed-reference", env=env).returncode == 0
    added = run_cli(
        "clients",
        "add",
        "treserva-0180",
        "--party",
        "Organization/kommun-0180",
        "--kind",
        "kommun",
        "--scope",
        "system/ServiceRequest.crs",
        "--jwks",
        str(jwks_file),
        env=env,
    )
    assert added.returncode == 0, added.stderr
    listed = run_cli("clients", "list", env=env)
    assert "treserva-0180" in listed.stdout
    assert run_cli("clients", "disable", "treserva-0180", env=env).returncode == 0
    assert "NO" in run_cli("clients", "list", env=env).stdout
    bad_scope = run_cli(
        "clients",
        "add",
        "x",
        "--party",
        "Organization/k",
        "--kind",
        "kommun",
        "--scope",
        "everything",
        "--jwks",
        str(jwks_file),
        env=env,
    )
    assert bad_scope.returncode == 1
    assert "Traceback" not in bad_scope.stderr
    assert run_cli("clients", "disable", "nobody", env=env).returncode == 1
