"""``kv-gateway directory authorise|route-add`` refuse empty values: one line, nothing written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gateway.routing.models import AuthorisationEntry, RouteEntry
from gateway.store.db import make_engine
from tests.support.cli import invoke

SERVICE = "urn:kv-gateway:medicinskt-utlatande:1"
UNIT = "SE2321000057-VC1001"

REFUSED = [
    (["authorise", "", SERVICE, UNIT], "consumer"),
    (["authorise", "SE2321000016-KOMMUN", "   ", UNIT], "service"),
    (["authorise", "SE2321000016-KOMMUN", SERVICE, "\t"], "logical_address"),
    (["authorise", "SE2321000016-KOMMUN", SERVICE, UNIT, "--valid-from", " "], "--valid-from"),
    (["authorise", "SE2321000016-KOMMUN", SERVICE, UNIT, "--valid-to", ""], "--valid-to"),
    (["route-add", " ", UNIT, "ep-vc-1001"], "service"),
    (["route-add", SERVICE, "", "ep-vc-1001"], "logical_address"),
    (["route-add", SERVICE, UNIT, "  "], "endpoint_id"),
    (["route-add", SERVICE, UNIT, "ep-vc-1001", "--valid-from", ""], "--valid-from"),
    (["route-add", SERVICE, UNIT, "ep-vc-1001", "--valid-to", "\n"], "--valid-to"),
]


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    target = tmp_path / "gateway.db"
    shutil.copyfile(sqlite_template, target)
    return f"sqlite:///{target}"


def _rows(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            routes = connection.execute(select(func.count()).select_from(RouteEntry)).scalar_one()
            grants = connection.execute(
                select(func.count()).select_from(AuthorisationEntry)
            ).scalar_one()
    finally:
        engine.dispose()
    return routes, grants


def test_empty_values_are_refused_before_anything_is_written(sqlite_url: str) -> None:
    env = {"KVGW_DATABASE_URL": sqlite_url}
    for args, name in REFUSED:
        result = invoke("directory", *args, env=env)
        assert result.exit_code == 1, args
        assert result.stderr == f"kv-gateway: {name} must not be empty\n", args
        assert result.exception is None or isinstance(result.exception, SystemExit), args
    assert _rows(sqlite_url) == (0, 0)
    # The same database takes a grant with every value given, so the refusals were theirs.
    granted = invoke("directory", "authorise", "SE2321000016-KOMMUN", SERVICE, UNIT, env=env)
    assert granted.exit_code == 0, granted.output
    assert _rows(sqlite_url) == (0, 1)
