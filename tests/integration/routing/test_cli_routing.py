"""``kv-gateway directory …`` and ``kv-gateway listing import`` as a user runs them."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from sqlalchemy import func, select

from gateway.routing.models import ListingEntry
from gateway.store.db import make_engine
from gateway.validation.identifiers import synthetic_personnummer
from tests.integration.test_cli import run_cli

P1 = synthetic_personnummer(datetime.date(1955, 5, 5), 551)


def test_listing_import_cli_reports_rejects_and_is_idempotent(
    tmp_path: Path, database_url: str
) -> None:
    env = {"KVGW_DATABASE_URL": database_url}
    if database_url.startswith("sqlite"):
        assert run_cli("db", "upgrade", env=env).returncode == 0
    source = tmp_path / "listing.csv"
    source.write_text(
        "person_id,hsa_id,lanskod,listing_type,valid_from,valid_to\n"
        f"{P1},SE2321000057-VC1001,06,PV,2020-01-01,\n"
        f"{P1[:-1]}0,SE2321000057-VC1001,06,PV,2020-01-01,\n",
        encoding="utf-8",
    )
    first = run_cli(
        "listing", "import", str(source), "--rejects", str(tmp_path / "rej.csv"), env=env
    )
    assert first.returncode == 0, first.stderr
    assert "2 rows read, 1 accepted (1 new" in first.stdout
    assert "1 rejected" in first.stdout
    assert "line 3: person-id" in first.stderr
    assert P1 not in first.stdout + first.stderr
    assert "line,code,reason\n3,person-id," in (tmp_path / "rej.csv").read_text()
    again = run_cli("listing", "import", str(source), env=env)
    assert "1 accepted (0 new" in again.stdout
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            assert (
                connection.execute(select(func.count()).select_from(ListingEntry)).scalar_one() == 1
            )
    finally:
        engine.dispose()


def test_listing_import_of_a_missing_file_or_bad_header_is_one_line(tmp_path: Path) -> None:
    env = {"KVGW_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    run_cli("db", "upgrade", env=env)
    missing = run_cli("listing", "import", str(tmp_path / "nope.csv"), env=env)
    assert missing.returncode == 1
    assert missing.stderr.count("\n") == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    result = run_cli("listing", "import", str(bad), env=env)
    assert result.returncode == 1
    assert "header" in result.stderr
    assert "Traceback" not in result.stderr


def test_directory_cli_round_trip(tmp_path: Path) -> None:
    env = {"KVGW_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}"}
    assert run_cli("db", "upgrade", env=env).returncode == 0
    seeded = run_cli("directory", "seed-reference", env=env)
    assert "311 created" in seeded.stdout
    assert (
        "0 created, 0 updated, 311 unchanged"
        in run_cli("directory", "seed-reference", env=env).stdout
    )
    assert run_cli("seed", "demo", env=env).returncode == 0
    bundle = tmp_path / "dir.json"
    csv_file = tmp_path / "dir.csv"
    assert run_cli("directory", "export", "--output", str(bundle), env=env).returncode == 0
    assert (
        run_cli(
            "directory", "export", "--format", "csv", "--output", str(csv_file), env=env
        ).returncode
        == 0
    )
    assert len(json.loads(bundle.read_text())["entry"]) == 320
    assert csv_file.read_text().count("\n") == 321
    other = {"KVGW_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}"}
    assert run_cli("db", "upgrade", env=other).returncode == 0
    imported = run_cli("directory", "import", str(bundle), env=other)
    assert "320 created, 0 updated, 0 unchanged" in imported.stdout, imported.stderr
    csv_again = run_cli("directory", "import", str(csv_file), env=other)
    assert "0 created, 0 updated, 320 unchanged" in csv_again.stdout, csv_again.stderr
    round_trip = tmp_path / "again.csv"
    run_cli("directory", "export", "--format", "csv", "--output", str(round_trip), env=other)
    assert round_trip.read_text() == csv_file.read_text()
    tables = run_cli("directory", "tables", env=env).stdout
    assert "Endpoint/ep-vc-gavle-sodra" in tables
    added = run_cli("directory", "route-add", "urn:x", "SE2321000016-X1", "ep-missing", env=env)
    assert added.returncode == 1
    assert "no Endpoint" in added.stderr


DIRECTORY_HEADER = (
    "resource_type,id,active,name,hsa_id,kommunkod,lanskod,org_type,part_of,"
    "connection_type,address,managing_organization,status"
)


def test_directory_import_checks_each_resource_as_the_fhir_api_does(
    tmp_path: Path, database_url: str
) -> None:
    env = {"KVGW_DATABASE_URL": database_url}  # migrated; the directory may stay empty
    clone = tmp_path / "clone.csv"
    clone.write_text(
        f"{DIRECTORY_HEADER}\n"
        "Organization,vc-clone,true,Clone,SE2321000057-VC1001,9999,99,no-such-type,region-01,,,,\n"
        "Endpoint,ep-clone,,X,,,,,,bogus,not a url,vc-clone,notastatus\n",
        encoding="utf-8",
    )
    refused = run_cli("directory", "import", str(clone), env=env)
    assert refused.returncode == 1
    assert refused.stderr.startswith("kv-gateway: clone.csv: Organization/vc-clone: ")
    assert "kommunkod-unknown" in refused.stderr
    assert refused.stderr.endswith("; nothing was imported\n")
    assert refused.stderr.count("\n") == 1
    status = tmp_path / "status.csv"
    status.write_text(
        f"{DIRECTORY_HEADER}\n"
        "Endpoint,ep-new,,X,,,,,,fhir-rest,https://x.example/fhir,vc-sodermalm,notastatus\n",
        encoding="utf-8",
    )
    refused = run_cli("directory", "import", str(status), env=env)
    assert refused.returncode == 1
    assert "Endpoint/ep-new: code not in required ValueSet" in refused.stderr
    assert "endpoint-status" in refused.stderr


def test_directory_import_errors_are_one_line(tmp_path: Path) -> None:
    """Each of these once crashed with a traceback (the library tests have the rest)."""
    env = {"KVGW_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}"}
    assert run_cli("db", "upgrade", env=env).returncode == 0
    part_of = {"resourceType": "Organization", "id": "x", "partOf": {"reference": 5}}
    files = {
        "short.csv": f"{DIRECTORY_HEADER}\nOrganization,region-01\n",
        "long.csv": f"{DIRECTORY_HEADER}\nOrganization,x,true,{'A' * 140_000},,,,,,,,,\n",
        "part-of.json": json.dumps({"resourceType": "Bundle", "entry": [{"resource": part_of}]}),
        "deep.json": "[" * 100_000 + "]" * 100_000,
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        result = run_cli("directory", "import", str(tmp_path / name), env=env)
        assert result.returncode == 1, name
        assert result.stderr.startswith(f"kv-gateway: {name}: "), result.stderr
        assert result.stderr.count("\n") == 1, result.stderr
