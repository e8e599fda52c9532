"""Shared fixtures: every storage-touching test runs on SQLite and on real PostgreSQL."""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from gateway.app import create_app
from gateway.security.caller import PartyKind
from gateway.settings import AuthMode, Settings
from gateway.store.db import make_engine
from gateway.store.migrate import upgrade
from gateway.store.models import Base
from tests.support.auth import bearer, register_client
from tests.support.postgres_cluster import Cluster, start_cluster, stop_cluster

BACKENDS = ["sqlite", "postgresql"]
TEST_BASE_URL = "http://testserver"
# Set KVGW_TEST_RAISE=1 to see a server-side traceback instead of the 500 OperationOutcome.
RAISE_SERVER_EXCEPTIONS = os.environ.get("KVGW_TEST_RAISE") == "1"


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster | None]:
    try:
        cluster = start_cluster()
    except (FileNotFoundError, OSError) as error:
        message = (
            f"\n{'!' * 78}\n!! PostgreSQL server binaries not available ({error}).\n"
            "!! Every PostgreSQL test leg is SKIPPED. CI installs them; install the Debian\n"
            f"!! package 'postgresql' to run them here.\n{'!' * 78}\n"
        )
        warnings.warn(message, stacklevel=1)
        print(message)
        yield None
        return
    try:
        yield cluster
    finally:
        stop_cluster(cluster)


@pytest.fixture(scope="session")
def pg_database(pg_cluster: Cluster | None) -> Iterator[str | None]:
    """A migrated database on the throwaway cluster (created by pytest-postgresql's janitor)."""
    if pg_cluster is None:
        yield None
        return
    from pytest_postgresql.janitor import DatabaseJanitor

    janitor = DatabaseJanitor(
        user=pg_cluster.user,
        host=pg_cluster.host,
        port=pg_cluster.port,
        dbname="kvgw_test",
    )
    janitor.init()
    url = pg_cluster.url("kvgw_test")
    upgrade(url)
    try:
        yield url
    finally:
        janitor.drop()


@pytest.fixture
def postgres_url(pg_database: str | None) -> str:
    """An empty, migrated PostgreSQL database, for tests about PostgreSQL alone."""
    if pg_database is None:
        pytest.skip("PostgreSQL server binaries are not installed (see the warning above)")
    engine = make_engine(pg_database)
    try:
        _truncate_all(engine)
    finally:
        engine.dispose()
    return pg_database


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


def _truncate_all(engine: Engine) -> None:
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
) -> Iterator[str]:
    """A freshly migrated, empty database on each backend."""
    if request.param == "sqlite":
        target = tmp_path / "gateway.db"
        shutil.copyfile(sqlite_template, target)
        yield f"sqlite:///{target}"
        return
    yield request.getfixturevalue("postgres_url")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,  # type: ignore[arg-type]
        auth_mode=AuthMode.SMART,
        public_base_url=TEST_BASE_URL,
        default_page_size=20,
        max_body_bytes=256 * 1024,
        rate_limit_per_minute=0,
        delivery_worker_in_process=False,  # tests drain the outbox themselves
    )


@pytest.fixture
def app(settings: Settings, engine: Engine) -> FastAPI:
    return create_app(settings, engine=engine)


@pytest.fixture
def anonymous(app: FastAPI) -> Iterator[TestClient]:
    """An HTTP client with no credentials."""
    with TestClient(app, raise_server_exceptions=RAISE_SERVER_EXCEPTIONS) as test_client:
        test_client.headers.update({"accept": "application/fhir+json"})
        yield test_client


@pytest.fixture
def client(app: FastAPI, anonymous: TestClient) -> TestClient:
    """An HTTP client holding a real access token of the gateway operator (every scope)."""
    operator = register_client(app, "Organization/operator", PartyKind.OPERATOR)
    anonymous.headers.update(bearer(anonymous, operator))
    return anonymous
