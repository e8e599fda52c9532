"""Data at rest: no personnummer in clear anywhere in the database; keys rotate safely."""

from __future__ import annotations

import base64
import os
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, text

from gateway.app import create_app
from gateway.database import open_database
from gateway.security.key_rotation import count_stale, rotate
from gateway.settings import Settings
from tests.support.fhir_data import FHIR_JSON, patient, personnummer


def _every_cell(engine: Engine) -> list[str]:
    cells: list[str] = []
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                cells.extend(str(value) for value in row)
    return cells


def _submit_case(client: TestClient, serial: int) -> dict[str, Any]:
    person = patient(serial)
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:p",
                "resource": person,
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": {
                    "resourceType": "ServiceRequest",
                    "status": "active",
                    "intent": "order",
                    "subject": {"reference": "urn:uuid:p"},
                    "note": [{"text": "Personen uppger ryggvärk och oro."}],
                },
                "request": {"method": "POST", "url": "ServiceRequest"},
            },
        ],
    }
    response = client.post("/fhir", json=bundle, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    client.get("/fhir/Patient", params={"identifier": personnummer(serial)})
    return dict(response.json())


def test_raw_tables_hold_no_personnummer_name_or_clinical_text(
    client: TestClient, engine: Engine
) -> None:
    _submit_case(client, 21)
    number = personnummer(21)
    cells = _every_cell(engine)
    assert len(cells) > 50
    joined = "\n".join(cells)
    for secret in (number, number[2:], "Testsson", "ryggvärk"):
        assert secret not in joined, f"{secret!r} found in clear in the database"
    # ... and yet the API finds and returns it.
    found = client.get("/fhir/Patient", params={"identifier": number}).json()
    assert found["total"] == 1
    assert found["entry"][0]["resource"]["identifier"][0]["value"] == number


def test_key_rotation_keeps_every_resource_readable(
    settings: Settings, client: TestClient, engine: Engine
) -> None:
    created = _submit_case(client, 22)
    ids = [e["resource"]["id"] for e in created["entry"]]
    new_key = base64.b64encode(os.urandom(32)).decode()
    rotated = settings.model_copy(
        update={
            "encryption_keys": settings.encryption_keys.__class__(
                f"{settings.encryption_keys.get_secret_value()},k2:{new_key}"
            ),
            "encryption_active_key": "k2",
        }
    )
    database = open_database(rotated, engine)
    stale = count_stale(database.sessions, database.protection)
    assert stale > 0
    assert rotate(database.sessions, database.protection, batch_size=7) == stale
    assert count_stale(database.sessions, database.protection) == 0
    with engine.connect() as connection:
        bodies = [
            b
            for (b,) in connection.execute(
                text("SELECT body FROM fhir_resource_version WHERE body IS NOT NULL")
            )
        ]
    assert bodies
    assert all(b.startswith("enc:v1:k2:") for b in bodies)
    only_new = rotated.model_copy(
        update={"encryption_keys": rotated.encryption_keys.__class__(f"k2:{new_key}")}
    )
    app: FastAPI = create_app(only_new, engine=engine)
    from gateway.security.caller import PartyKind
    from tests.support.auth import bearer, register_client

    with TestClient(app) as http:
        operator = register_client(app, "Organization/operator", PartyKind.OPERATOR)
        headers = bearer(http, operator)
        assert http.get(f"/fhir/Patient/{ids[0]}", headers=headers).json()["identifier"][0][
            "value"
        ] == personnummer(22)
        assert (
            http.get(f"/fhir/ServiceRequest/{ids[1]}/_history/1", headers=headers).status_code
            == 200
        )


def test_keys_rotate_command(client: TestClient, database_url: str) -> None:
    from tests.integration.test_cli import run_cli

    _submit_case(client, 23)
    key = run_cli("keys", "new").stdout.strip()
    assert len(base64.b64decode(key)) == 32
    env = {
        "KVGW_DATABASE_URL": database_url,
        "KVGW_ENCRYPTION_KEYS": f"dev1:ZGV2ZWxvcG1lbnQta2V5LWRvLW5vdC11c2UtcHJvZCE=,k9:{key}",
        "KVGW_ENCRYPTION_ACTIVE_KEY": "k9",
    }
    result = run_cli("keys", "rotate", "--batch-size", "3", env=env)
    assert result.returncode == 0, result.stderr
    assert "under key k9" in result.stdout
    assert "re-encrypted 0" not in result.stdout
    again = run_cli("keys", "rotate", env=env)
    assert "re-encrypted 0 stored versions" in again.stdout
