"""The kv-gateway command line, run as a user would: a real process, real databases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from gateway.store.db import make_engine
from gateway.store.migrate import head_revision
from gateway.store.models import ResourceHead

CLI = [sys.executable, "-m", "gateway.cli.main"]


def cli_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any KVGW_ setting, plus ``env``."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("KVGW_")}
    full_env.update(env or {})
    return full_env


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        env=cli_environment(env),
        timeout=120,
        check=False,
    )


def test_version_and_help() -> None:
    result = run_cli("version")
    assert result.returncode == 0
    assert result.stdout.strip() == "0.1.0"
    assert "serve" in run_cli("--help").stdout


def test_config_show_masks_the_database_password() -> None:
    result = run_cli(
        "config", "show", env={"KVGW_DATABASE_URL": "postgresql+psycopg://kv:hemligt@db:5432/kv"}
    )
    assert result.returncode == 0
    shown = json.loads(result.stdout)
    assert shown["database_url"] == "postgresql+psycopg://kv:********@db:5432/kv"
    assert "hemligt" not in result.stdout


def test_bad_configuration_is_one_line_and_non_zero() -> None:
    result = run_cli("config", "show", env={"KVGW_PORT": "inte-ett-tal"})
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "KVGW_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_database_is_one_line_and_non_zero() -> None:
    result = run_cli(
        "db", "current", env={"KVGW_DATABASE_URL": "postgresql+psycopg://u:pw@127.0.0.1:9/x"}
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "pw" not in result.stderr.replace("psycopg", "")


def test_db_upgrade_current_downgrade_and_seed_demo(tmp_path: Path) -> None:
    env = {"KVGW_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    assert "none" in run_cli("db", "current", env=env).stdout
    seed_before = run_cli("seed", "demo", env=env)
    assert seed_before.returncode == 1
    assert "db upgrade" in seed_before.stderr
    assert run_cli("db", "upgrade", env=env).returncode == 0
    assert f"current: {head_revision()}" in run_cli("db", "current", env=env).stdout
    first = run_cli("seed", "demo", env=env)
    assert first.returncode == 0, first.stderr
    assert "326 new resources" in first.stdout  # 311 reference + 15 demo
    again = run_cli("seed", "demo", env=env)
    assert "0 new resources" in again.stdout
    seeded = run_cli("db", "current", env=env)
    assert seeded.returncode == 0
    assert "search index: current" in seeded.stdout  # the store began empty
    assert run_cli("db", "downgrade", "base", env=env).returncode == 0
    assert "none" in run_cli("db", "current", env=env).stdout


def test_seed_demo_on_postgresql(postgres_url: str) -> None:
    result = run_cli("seed", "demo", env={"KVGW_DATABASE_URL": postgres_url})
    assert result.returncode == 0, result.stderr
    engine = make_engine(postgres_url)
    try:
        with engine.connect() as connection:
            count = connection.execute(select(func.count()).select_from(ResourceHead)).scalar_one()
    finally:
        engine.dispose()
    assert count == 326


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    result = run_cli("serve", env={"KVGW_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"})
    assert result.returncode == 1
    assert "db upgrade" in result.stderr


def test_demo_tells_the_whole_story() -> None:
    result = run_cli("demo")
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    for step in (
        "var är personen listad",
        "Vårdcentralen Jönköping Centrum",
        "POST ServiceRequest/$submit",
        "Status: requested",
        "Uppgiftens status: received",
        "completed",
        "Kommunen fick 1 notis",
        "hashkedjan är intakt",
    ):
        assert step in out, step
    assert "19850314" not in out, "no personnummer, not even the birth date, is shown"


def test_a_new_blind_index_key_shows_a_stale_index_until_reindex_stale(tmp_path: Path) -> None:
    env = {"KVGW_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    assert run_cli("db", "upgrade", env=env).returncode == 0
    assert run_cli("seed", "demo", env=env).returncode == 0
    env["KVGW_BLIND_INDEX_KEY"] = "en-helt-ny-nyckel-2026"

    stale = run_cli("db", "current", env=env)
    assert stale.returncode == 1
    assert "search index: stale for Patient (" in stale.stdout
    assert "db reindex --stale" in stale.stdout

    rebuilt = run_cli("db", "reindex", "--stale", env=env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert rebuilt.stdout.count("reindexed ") == len(
        stale.stdout.split("stale for ")[1].split(";")[0].split("), ")
    )
    assert "of Patient" in rebuilt.stdout
    assert "of Task" not in rebuilt.stdout  # a type the key does not touch is left alone
    current = run_cli("db", "current", env=env)
    assert current.returncode == 0
    assert "search index: current" in current.stdout
    assert "nothing to rebuild" in run_cli("db", "reindex", "--stale", env=env).stdout
    assert run_cli("db", "reindex", "--stale", "--type", "Task", env=env).returncode == 1
