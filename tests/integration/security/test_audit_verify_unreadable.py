"""``kv-gateway audit verify`` reports an AuditEvent it cannot decrypt as a break of the
chain at that event, and goes on checking the rest."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select, update

from gateway.database import Database, open_database
from gateway.security.audit import AuditLog
from gateway.settings import DEV_ENCRYPTION_KEYS, Settings
from gateway.store.models import ResourceVersion
from tests.support.cli import invoke

OLD_KEY = "old1:" + base64.b64encode(b"a key since taken out of service").decode()


def _append(database: Database, settings: Settings) -> str:
    audit = AuditLog(settings.audit_chain_key.get_secret_value().encode())
    with database.sessions() as session, session.begin():
        return audit.append(session, audit.delivery("Task/t", "Organization/x", ok=True)).id


def _damage(database: Database, event_id: str, body: str) -> None:
    with database.engine.begin() as connection:
        connection.execute(
            update(ResourceVersion)
            .where(ResourceVersion.res_type == "AuditEvent", ResourceVersion.res_id == event_id)
            .values(body=body)
        )


def _stored_body(database: Database, event_id: str) -> str:
    with database.engine.connect() as connection:
        body = connection.scalar(
            select(ResourceVersion.body).where(
                ResourceVersion.res_type == "AuditEvent", ResourceVersion.res_id == event_id
            )
        )
    assert isinstance(body, str)
    return body


@pytest.mark.parametrize("damage", ["key-gone", "tampered", "not-base64"])
def test_an_event_that_cannot_be_decrypted_breaks_the_chain_there(
    damage: str, tmp_path: Path, sqlite_template: Path
) -> None:
    shutil.copyfile(sqlite_template, tmp_path / "gateway.db")
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    current = Settings(database_url=url)
    with_old_key = Settings(
        database_url=url,
        encryption_keys=f"{DEV_ENCRYPTION_KEYS},{OLD_KEY}",
        encryption_active_key="old1",
    )
    database = open_database(current)
    old_database = open_database(with_old_key)
    try:
        first = _append(database, current)
        middle = _append(old_database if damage == "key-gone" else database, current)
        _append(database, current)
        stored = _stored_body(database, middle)
        if damage == "tampered":  # one byte of the ciphertext flipped
            raw = bytearray(base64.b64decode(stored.rsplit(":", 1)[1]))
            raw[-1] ^= 1
            _damage(
                database, middle, stored.rsplit(":", 1)[0] + ":" + base64.b64encode(raw).decode()
            )
        elif damage == "not-base64":
            _damage(database, middle, "enc:v1:dev1:abc")
    finally:
        database.dispose()
        old_database.dispose()

    result = invoke("audit", "verify", env={"KVGW_DATABASE_URL": url})

    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "checked 3 events" in result.stdout  # went on past the event
    assert "intact" not in result.stdout
    why = {
        "key-gone": "no key with id 'old1' is configured",
        "tampered": "stored body failed authentication",
        "not-base64": "its stored body is not readable",
    }[damage]
    assert result.stderr == f"BROKEN event #2: AuditEvent/{middle} cannot be decrypted: {why}\n"
    assert first not in result.stderr
