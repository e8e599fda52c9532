"""Rebuilding the search index from the stored resources (``kv-gateway db reindex``)."""

from __future__ import annotations

import threading
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, text

from gateway.app import create_app
from gateway.database import open_database
from gateway.search.index import index_rows
from gateway.security.caller import PartyKind
from gateway.settings import Settings
from gateway.store.db import make_engine
from gateway.store.reindex import count_resources, reindex
from gateway.store.resources import ResourceStore
from tests.support.auth import bearer, register_client
from tests.support.fhir_data import FHIR_JSON, patient, personnummer

_ROWS = "SELECT res_type, res_id, param, system, value, date_start, date_end FROM fhir_search_index"


def _index(engine: Engine) -> set[tuple[Any, ...]]:
    with engine.connect() as connection:
        return {tuple(row) for row in connection.execute(text(_ROWS))}


def _create(client: TestClient, body: dict[str, Any]) -> str:
    response = client.post(f"/fhir/{body['resourceType']}", json=body, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _found(client: TestClient, serial: int) -> list[str]:
    bundle = client.get("/fhir/Patient", params={"identifier": personnummer(serial)}).json()
    return [entry["resource"]["id"] for entry in bundle.get("entry", [])]


def test_reindex_rebuilds_a_lost_index_exactly(
    settings: Settings, client: TestClient, engine: Engine
) -> None:
    ids = {serial: _create(client, patient(serial)) for serial in (31, 32, 33, 34, 35)}
    assert client.delete(f"/fhir/Patient/{ids[35]}").status_code in (200, 204)
    before = _index(engine)
    assert {row[1] for row in before} >= {ids[31], ids[34]}
    with engine.begin() as connection:  # as if a release had added every parameter
        connection.execute(text("DELETE FROM fhir_search_index"))
    assert _found(client, 31) == []

    sessions = open_database(settings, engine).sessions
    walked: list[int] = []
    report = reindex(sessions, batch_size=2, progress=walked.append)

    after = _index(engine)
    assert before <= after
    # Beyond what was lost: the audit events of the search made since, now indexed too.
    assert {row[0] for row in after - before} == {"AuditEvent"}
    assert {row[1] for row in after - before}.isdisjoint(row[1] for row in before)
    assert report.rows == len(after)
    assert report.resources == count_resources(sessions) == sum(walked)
    assert max(walked) == 2  # in batches of the size asked for
    assert _found(client, 31) == [ids[31]]
    assert _found(client, 35) == []  # a deleted resource stays out of searches
    # Run again: nothing changes but the audit events of the two searches above.
    again = reindex(sessions, batch_size=3)
    assert after <= _index(engine)
    assert again.rows == len(_index(engine))


def test_reindex_of_one_type_leaves_the_others_alone(
    settings: Settings, client: TestClient, engine: Engine
) -> None:
    _create(client, patient(36))
    _create(client, {"resourceType": "Organization", "name": "Vårdcentralen Test"})
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM fhir_search_index"))
    sessions = open_database(settings, engine).sessions

    report = reindex(sessions, res_type="Patient")

    assert report.resources == count_resources(sessions, "Patient")
    assert {row[0] for row in _index(engine)} == {"Patient"}


def test_after_a_new_blind_index_key_reindex_makes_identifiers_searchable_again(
    settings: Settings, client: TestClient, engine: Engine
) -> None:
    created = _create(client, patient(37))
    new_key = settings.model_copy(update={"blind_index_key": SecretStr("en-helt-ny-nyckel-2026")})
    renewed: FastAPI = create_app(new_key, engine=engine)
    with TestClient(renewed) as http:
        operator = register_client(renewed, "Organization/operator-2", PartyKind.OPERATOR)
        http.headers.update({**bearer(http, operator), "accept": "application/fhir+json"})
        assert _found(http, 37) == []  # the old index speaks the old key

        reindex(open_database(new_key, engine).sessions)

        assert _found(http, 37) == [created]


def test_reindexing_directory_entries_invalidates_the_directory_memo(
    settings: Settings, client: TestClient, engine: Engine
) -> None:
    _create(client, {"resourceType": "Organization", "name": "Vårdcentralen Minne"})
    sessions = open_database(settings, engine).sessions

    def token() -> str | None:
        with engine.connect() as connection:
            found = connection.execute(text("SELECT token FROM directory_generation")).first()
        return None if found is None else str(found[0])

    before = token()
    reindex(sessions, res_type="Patient")
    assert token() == before  # case data is never memoised
    reindex(sessions, res_type="Organization")
    assert token() not in (None, before)


def test_reindex_waits_for_an_update_in_flight_and_keeps_its_rows(postgres_url: str) -> None:
    """A batch locks the heads it rebuilds: an update that committed while the batch
    waited is what the index describes afterwards, never the version before it."""
    engine = make_engine(postgres_url)
    try:
        database = open_database(Settings(database_url=postgres_url), engine)  # type: ignore[arg-type]
        with database.sessions() as session, session.begin():
            created = ResourceStore(session).create(patient(38))
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM fhir_search_index"))

        updating = database.sessions()
        updating.begin()
        ResourceStore(updating).update({**patient(39), "id": created.id}, created.id)
        done: list[int] = []
        worker = threading.Thread(
            target=lambda: done.append(reindex(database.sessions, res_type="Patient").resources)
        )
        worker.start()
        worker.join(timeout=1.0)
        assert worker.is_alive(), "the batch must wait for the update's lock"
        updating.commit()
        updating.close()
        worker.join(timeout=30)
        assert done == [1]

        def identifiers(body: dict[str, Any]) -> set[str | None]:
            rows = index_rows(body, blind=database.protection.blind)
            return {row.value for row in rows if row.param == "identifier"}

        indexed = {row[4] for row in _index(engine) if row[2] == "identifier"}
        assert indexed == identifiers(patient(39))
        assert not indexed & identifiers(patient(38))
    finally:
        engine.dispose()


def test_db_reindex_command(client: TestClient, database_url: str, engine: Engine) -> None:
    from tests.integration.test_cli import run_cli

    _create(client, patient(40))
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM fhir_search_index WHERE res_type = 'Patient'"))
    env = {"KVGW_DATABASE_URL": database_url}

    result = run_cli("db", "reindex", "--type", "Patient", "--batch-size", "2", env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("reindexed 1 resources (")
    assert {row[0] for row in _index(engine)} >= {"Patient"}
    assert _found(client, 40) != []
    unknown = run_cli("db", "reindex", "--type", "Patientt", env=env)
    assert unknown.returncode == 1
    assert "unknown resource type 'Patientt'" in unknown.stderr


def test_a_blind_index_key_rotates_with_the_previous_key_beside_it(
    settings: Settings, client: TestClient, engine: Engine
) -> None:
    """While the key rotates, searches match either key: a conditional create still finds
    the person, and nothing is missed before `db reindex` has moved every row."""
    created = _create(client, patient(41))
    rotating = settings.model_copy(
        update={
            "blind_index_key": SecretStr("den-nya-nyckeln-2027"),
            "blind_index_previous_key": settings.blind_index_key,
        }
    )
    renewed: FastAPI = create_app(rotating, engine=engine)
    with TestClient(renewed) as http:
        operator = register_client(renewed, "Organization/operator-3", PartyKind.OPERATOR)
        http.headers.update({**bearer(http, operator), "accept": "application/fhir+json"})
        assert _found(http, 41) == [created]  # indexed under the previous key
        again = http.post(
            "/fhir/Patient",
            json=patient(41),
            headers={
                **FHIR_JSON,
                "if-none-exist": f"identifier={patient(41)['identifier'][0]['system']}|{personnummer(41)}",
            },
        )
        assert again.status_code == 200, again.text  # found, not stored twice
        assert again.json()["id"] == created

        reindex(open_database(rotating, engine).sessions)

    done = rotating.model_copy(update={"blind_index_previous_key": None})
    finished: FastAPI = create_app(done, engine=engine)
    with TestClient(finished) as http:
        operator = register_client(finished, "Organization/operator-4", PartyKind.OPERATOR)
        http.headers.update({**bearer(http, operator), "accept": "application/fhir+json"})
        assert _found(http, 41) == [created]  # every row under the new key now
