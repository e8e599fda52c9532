"""``kv-gateway listing import`` as a user runs it, on both backends: protected identity
survives a file without the column and its loss is counted; a broken line is one reject;
an import that stops midway is one line that says what is committed."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from gateway.routing.models import ListingEntry
from gateway.validation.identifiers import synthetic_personnummer
from tests.integration.test_cli import run_cli

COLUMNS = "person_id,hsa_id,lanskod,listing_type,valid_from,valid_to"
EVA = synthetic_personnummer(datetime.date(1995, 8, 21), 302)
HSA = "SE2321000016-VC4002"


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    env = {"KVGW_DATABASE_URL": database_url}
    if database_url.startswith("sqlite"):
        assert run_cli("db", "upgrade", env=env).returncode == 0
    return env


def numbers(count: int) -> list[str]:
    start = datetime.date(1950, 1, 1)
    return [synthetic_personnummer(start + datetime.timedelta(days=i), 654) for i in range(count)]


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("kv-gateway:")]


def import_event(stderr: str) -> dict[str, Any]:
    """The one ``listing.import`` routing event the command logged (JSON, on stderr)."""
    logged = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    found = [e for e in logged if e.get("action") == "listing.import"]
    assert len(found) == 1, stderr
    event: dict[str, Any] = found[0]
    return event


def test_a_file_without_the_column_keeps_protection_and_a_lowering_is_counted(
    tmp_path: Path, env: dict[str, str], engine: Engine
) -> None:
    def flags() -> list[bool]:
        with engine.connect() as connection:
            return list(connection.execute(select(ListingEntry.protected_identity)).scalars())

    source = tmp_path / "listing.csv"
    source.write_text(f"{COLUMNS},protected_identity\n{EVA},{HSA},01,PV,2020-01-01,,1\n")
    first = run_cli("listing", "import", str(source), env=env)
    assert first.returncode == 0, first.stderr
    assert import_event(first.stderr)["lost_protection"] == 0
    # The tester's extract: no protected_identity column at all.
    source.write_text(f"{COLUMNS}\n{EVA},{HSA},01,PV,2020-01-01,\n")
    silent = run_cli("listing", "import", str(source), env=env)
    assert silent.returncode == 0, silent.stderr
    assert "1 accepted (0 new, 1 already known or updated), 0 rejected\n" in silent.stdout
    assert flags() == [True]
    assert import_event(silent.stderr)["lost_protection"] == 0
    # An explicit 0 lowers it, and the summary says so.
    source.write_text(f"{COLUMNS},protected_identity\n{EVA},{HSA},01,PV,2020-01-01,,0\n")
    lowered = run_cli("listing", "import", str(source), env=env)
    assert lowered.returncode == 0, lowered.stderr
    assert "0 rejected; 1 row(s) lost protected identity" in lowered.stdout
    assert flags() == [False]
    # The audit stream counts it too: a number, no person data.
    event = import_event(lowered.stderr)
    assert event["lost_protection"] == 1
    assert {k: event[k] for k in ("rows", "inserted", "rejected")} == {
        "rows": 1,
        "inserted": 0,
        "rejected": 0,
    }
    assert EVA not in lowered.stdout + lowered.stderr


def test_a_stray_quote_or_an_overlong_cell_is_one_rejected_line(
    tmp_path: Path, env: dict[str, str], engine: Engine
) -> None:
    people = numbers(3000)
    rows = [f"{number},{HSA},01,PV,2020-01-01," for number in people]
    rows[3] = rows[3].replace(f",{HSA},", f",{'x' * 200_000},")  # line 5
    rows[1000] = rows[1000].replace(",01,", ',"01,')  # line 1002
    source = tmp_path / "listing.csv"
    source.write_text(COLUMNS + "\n" + "\n".join(rows) + "\n")
    result = run_cli("listing", "import", str(source), "--batch-size", "500", env=env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "3000 rows read, 2998 accepted (2998 new" in result.stdout
    assert "line 5: line-too-long" in result.stderr
    assert "line 1002: csv-syntax" in result.stderr
    assert not any(number in result.stdout + result.stderr for number in people)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(ListingEntry)).scalar_one() == (
            2998
        )


STOP_SQLITE = (
    "CREATE TRIGGER kvgw_test_stop BEFORE INSERT ON listing_entry"
    " WHEN (SELECT count(*) FROM listing_entry) >= 100"
    " BEGIN SELECT RAISE(ABORT, 'simulated failure'); END"
)
STOP_POSTGRESQL = (
    "CREATE FUNCTION kvgw_test_stop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " IF (SELECT count(*) FROM listing_entry) >= 100 THEN"
    " RAISE EXCEPTION 'simulated failure'; END IF; RETURN NEW; END $$",
    "CREATE TRIGGER kvgw_test_stop BEFORE INSERT ON listing_entry"
    " FOR EACH ROW EXECUTE FUNCTION kvgw_test_stop()",
)


def test_an_import_that_fails_midway_is_one_line_and_a_rerun_finishes_it(
    tmp_path: Path, env: dict[str, str], engine: Engine
) -> None:
    people = numbers(250)
    source = tmp_path / "listing.csv"
    source.write_text(COLUMNS + "\n" + "".join(f"{n},{HSA},01,PV,2020-01-01,\n" for n in people))
    postgresql = engine.dialect.name == "postgresql"
    with engine.begin() as connection:  # the database refuses rows from the 101st on
        for statement in STOP_POSTGRESQL if postgresql else (STOP_SQLITE,):
            connection.execute(text(statement))
    try:
        failed = run_cli("listing", "import", str(source), "--batch-size", "100", env=env)
    finally:
        with engine.begin() as connection:
            if postgresql:
                connection.execute(text("DROP TRIGGER kvgw_test_stop ON listing_entry"))
                connection.execute(text("DROP FUNCTION kvgw_test_stop()"))
            else:
                connection.execute(text("DROP TRIGGER kvgw_test_stop"))
    assert failed.returncode == 1
    assert "Traceback" not in failed.stderr
    (line,) = errors(failed.stderr)
    assert "simulated failure" in line
    assert "after reading line 201; lines up to 101 are committed (100 accepted rows)" in line
    assert "import the whole file again" in line
    assert not any(number in failed.stdout + failed.stderr for number in people)

    rerun = run_cli("listing", "import", str(source), "--batch-size", "100", env=env)
    assert rerun.returncode == 0, rerun.stderr
    assert "250 rows read, 250 accepted (150 new, 100 already known or updated)" in rerun.stdout
    again = run_cli("listing", "import", str(source), "--batch-size", "100", env=env)
    assert "250 accepted (0 new, 250 already known or updated)" in again.stdout
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(ListingEntry)).scalar_one() == (
            250
        )
