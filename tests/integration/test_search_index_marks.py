"""Which types' search index the running code built (gateway.store.index_marks), and
``db reindex --stale``, which rebuilds only the others."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, text

from gateway.app import create_app
from gateway.database import open_database
from gateway.logging import configure_logging
from gateway.search.parameters import SEARCH_PARAMETERS
from gateway.settings import LogFormat, Settings
from gateway.store.migrate import downgrade, upgrade
from gateway.store.reindex import reindex, stale
from tests.support.fhir_data import FHIR_JSON, patient

_NEW_KEY = {"blind_index_key": SecretStr("en-helt-ny-nyckel-2026")}


def _marks(engine: Engine) -> dict[str, Any]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT res_type, fingerprint FROM fhir_search_index_mark"))
        return {str(res_type): fingerprint for res_type, fingerprint in rows}


def _create(client: TestClient, body: dict[str, Any]) -> None:
    response = client.post(f"/fhir/{body['resourceType']}", json=body, headers=FHIR_JSON)
    assert response.status_code == 201, response.text


def _as_if_an_older_release_built(engine: Engine, resource_type: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE fhir_search_index_mark SET fingerprint = 'older' WHERE res_type = :t"),
            {"t": resource_type},
        )


def test_a_store_that_began_empty_is_current_and_marked_for_every_type(
    settings: Settings, client: TestClient, engine: Engine
) -> None:
    _create(client, patient(41))
    _create(client, {"resourceType": "Organization", "name": "Vårdcentralen Märke"})

    assert stale(open_database(settings, engine).sessions) == []

    marks = _marks(engine)
    assert set(marks) == set(SEARCH_PARAMETERS)  # the empty-store row is gone
    assert all(isinstance(mark, str) and len(mark) == 64 for mark in marks.values())


def test_an_older_release_makes_a_type_stale_until_it_is_reindexed(
    settings: Settings, client: TestClient, engine: Engine
) -> None:
    _create(client, patient(42))
    sessions = open_database(settings, engine).sessions
    assert stale(sessions) == []
    _as_if_an_older_release_built(engine, "Patient")
    _as_if_an_older_release_built(engine, "Questionnaire")  # holds no resources

    assert stale(sessions) == ["Patient"]
    assert stale(sessions) == ["Patient"]  # checking changes nothing for a stale type

    reindex(sessions, res_type="Organization")
    assert stale(sessions) == ["Patient"]  # another type's rebuild is not this one's
    reindex(sessions, res_type="Patient")
    assert stale(sessions) == []


def test_an_interrupted_reindex_leaves_the_type_stale(
    settings: Settings, client: TestClient, engine: Engine
) -> None:
    for serial in (43, 44, 45):
        _create(client, patient(serial))
    sessions = open_database(settings, engine).sessions
    stale(sessions)
    _as_if_an_older_release_built(engine, "Patient")

    def interrupt(_walked: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        reindex(sessions, res_type="Patient", batch_size=2, progress=interrupt)

    assert stale(sessions) == ["Patient"]


def test_a_new_blind_index_key_makes_the_blind_indexed_types_stale(
    settings: Settings, client: TestClient, engine: Engine
) -> None:
    _create(client, patient(46))
    _create(client, {"resourceType": "Organization", "name": "Vårdcentralen Nyckel"})
    assert stale(open_database(settings, engine).sessions) == []
    renewed = open_database(settings.model_copy(update=_NEW_KEY), engine).sessions

    # Practitioner is blind-indexed too, but holds no resources: it is current at once.
    assert stale(renewed) == ["Patient"]

    reindex(renewed, res_type="Patient")
    assert stale(renewed) == []
    assert stale(open_database(settings, engine).sessions) == ["Patient"]  # the old key


def test_a_store_migrated_while_holding_resources_is_stale_where_it_holds_them(
    settings: Settings, client: TestClient, engine: Engine, database_url: str
) -> None:
    """Marks began with migration 0012: what a store held before was indexed by a release
    that kept none, so nothing vouches for it."""
    _create(client, patient(47))
    downgrade(database_url, "0011")
    upgrade(database_url)
    sessions = open_database(settings, engine).sessions

    assert stale(sessions) == ["AuditEvent", "Patient"]  # the create was audited

    reindex(sessions)
    assert stale(sessions) == []


def test_the_gateway_warns_at_start_up_of_a_stale_index(
    settings: Settings, client: TestClient, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    _create(client, patient(48))
    configure_logging(LogFormat.JSON, "INFO")
    capsys.readouterr()

    with TestClient(create_app(settings.model_copy(update=_NEW_KEY), engine=engine)):
        pass

    logs = capsys.readouterr()
    warning = [line for line in (logs.out + logs.err).splitlines() if "search_index_stale" in line]
    assert len(warning) == 1
    assert '"types": ["Patient"]' in warning[0]
    assert "db reindex --stale" in warning[0]
