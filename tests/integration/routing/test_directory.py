"""The directory: reference load, import/export round trip, FHIR search, the routing
table (vägval) and the authorisation table (anropsbehörighet)."""

from __future__ import annotations

import datetime
import io
import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gateway.routing import directory, directory_io, routing_table
from gateway.routing.directory import load_reference
from gateway.routing.directory_io import DirectoryImportError, import_resources
from gateway.store.resources import ResourceStore
from gateway.validation.pipeline import ValidationPipeline

UTC = datetime.UTC
NOW = datetime.datetime.now(UTC)
DAY = datetime.timedelta(days=1)
SERVICE = "urn:riv:test:Service:1"
ADDRESS = "SE2321000016-VC9001"


def test_reference_load_is_complete_and_idempotent(app: FastAPI) -> None:
    validator = ValidationPipeline()
    with app.state.session_factory() as session, session.begin():
        first = load_reference(ResourceStore(session), validator)
    assert (first.created, first.updated) == (311, 0)
    with app.state.session_factory() as session, session.begin():
        store = ResourceStore(session)
        # An administrator adds a phone number; a rename arrives in the reference data.
        body = store.read("Organization", "kommun-0180").body
        assert body is not None
        body = {k: v for k, v in body.items() if k not in ("id", "meta")}
        body["telecom"] = [{"system": "phone", "value": "+46 8 000 00 00"}]
        body["name"] = "Gammalt namn"
        store.update(body, "kommun-0180")
    with app.state.session_factory() as session, session.begin():
        again = load_reference(ResourceStore(session), validator)
        kept = ResourceStore(session).read("Organization", "kommun-0180").body
    assert (again.created, again.updated, again.unchanged) == (0, 1, 310)
    assert kept is not None
    assert kept["name"] == "Socialtjänsten, Stockholm kommun"
    assert kept["telecom"][0]["value"] == "+46 8 000 00 00"


@pytest.mark.usefixtures("demo")
def test_fhir_search_on_the_directory(client: TestClient) -> None:
    regions = client.get(
        "/fhir/Organization",
        params={"identifier": "urn:oid:1.2.752.129.2.2.1.18|", "_total": "accurate"},
    ).json()
    assert regions["total"] == 21
    kommun = client.get(
        "/fhir/Organization", params={"identifier": "urn:oid:1.2.752.129.2.2.1.17|2180"}
    ).json()
    assert kommun["entry"][0]["resource"]["id"] == "kommun-2180"
    units = client.get("/fhir/Organization", params={"partof": "Organization/region-01"}).json()
    assert {e["resource"]["id"] for e in units["entry"]} == {"vc-sodermalm"}
    rivta = client.get(
        "/fhir/Endpoint",
        params={
            "connection-type": "https://kv-gateway.se/fhir/CodeSystem/kv-endpoint-connection-type|rivta"
        },
    ).json()
    assert [e["resource"]["id"] for e in rivta["entry"]] == ["ep-vc-gavle-sodra"]


def _export(session: Session, kind: str) -> str:
    store = ResourceStore(session)
    resources = list(directory_io.directory_resources(store))
    if kind == "csv":
        out = io.StringIO()
        directory_io.export_csv(resources, out)
        return out.getvalue()
    bundle = directory_io.export_bundle(resources, "http://testserver/fhir")
    for entry in bundle["entry"]:
        entry["resource"].pop("meta", None)
    return json.dumps(bundle, sort_keys=True)


@pytest.mark.parametrize("kind", ["csv", "bundle"])
@pytest.mark.usefixtures("demo")
def test_export_import_round_trip(app: FastAPI, kind: str, tmp_path: Any) -> None:
    with app.state.session_factory() as session:
        exported = _export(session, kind)
    resources = directory_io.read_file(exported.encode(), kind)
    assert len(resources) == 311 + 5 + 4
    with app.state.session_factory() as session, session.begin():
        # Start over in the same database: delete every directory resource first.
        store = ResourceStore(session)
        for stored in list(directory_io.directory_resources(store)):
            store.purge(stored.resource_type, stored.id)
    with app.state.session_factory() as session, session.begin():
        result = import_resources(
            ResourceStore(session), ValidationPipeline(), resources, file_kind=kind
        )
    assert (result.created, result.updated) == (320, 0)
    with app.state.session_factory() as session:
        assert _export(session, kind) == exported
    # Importing the same file again changes nothing.
    with app.state.session_factory() as session, session.begin():
        again = import_resources(
            ResourceStore(session), ValidationPipeline(), resources, file_kind=kind
        )
    assert (again.created, again.updated, again.unchanged) == (0, 0, 320)


@pytest.mark.usefixtures("demo")
def test_import_changes_become_new_versions_and_bad_entries_stop_everything(
    app: FastAPI,
) -> None:
    with app.state.session_factory() as session:
        csv_text = _export(session, "csv")
    changed = csv_text.replace("Vårdcentralen Södermalm,", "Vårdcentralen Södermalm Nya,", 1)
    with app.state.session_factory() as session, session.begin():
        result = import_resources(
            ResourceStore(session),
            ValidationPipeline(),
            directory_io.read_file(changed.encode(), "csv"),
            file_kind="csv",
        )
    assert result.updated == 1
    with app.state.session_factory() as session:
        stored = ResourceStore(session).read("Organization", "vc-sodermalm")
    assert stored.version_id == 2
    broken = [
        {"resourceType": "Organization", "id": "vc-new", "name": "Ny"},
        {"resourceType": "Organization", "id": "vc-bad", "name": 42},
    ]
    with (
        pytest.raises(DirectoryImportError) as caught,
        app.state.session_factory() as session,
        session.begin(),
    ):
        import_resources(ResourceStore(session), ValidationPipeline(), broken)
    assert "Organization/vc-bad" in str(caught.value)
    with app.state.session_factory() as session:
        assert ResourceStore(session).current("Organization", "vc-new") is None


def test_bad_files_are_refused() -> None:
    with pytest.raises(DirectoryImportError):
        directory_io.read_file(b"not json", "bundle")
    with pytest.raises(DirectoryImportError):
        directory_io.read_file(
            b'{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","id":"x"}}]}',
            "bundle",
        )
    with pytest.raises(DirectoryImportError):
        directory_io.read_file(b"a,b\n1,2\n", "csv")


# ----- routing table and authorisation table -------------------------------------------


def test_zero_one_two_active_routes_and_validity(app: FastAPI) -> None:
    with app.state.session_factory() as session, session.begin():
        with pytest.raises(routing_table.RoutingTableError) as none:
            routing_table.route_for(session, SERVICE, ADDRESS)
        assert none.value.code == "no-route"
        # Expired and future routes do not count.
        routing_table.add_route(
            session, SERVICE, ADDRESS, "ep-old", valid_from=NOW - 10 * DAY, valid_to=NOW - DAY
        )
        routing_table.add_route(session, SERVICE, ADDRESS, "ep-next", valid_from=NOW + DAY)
        with pytest.raises(routing_table.RoutingTableError):
            routing_table.route_for(session, SERVICE, ADDRESS)
        routing_table.add_route(
            session, SERVICE, ADDRESS, "ep-now", valid_from=NOW - DAY, valid_to=NOW + DAY
        )
        assert routing_table.route_for(session, SERVICE, ADDRESS).endpoint_id == "ep-now"
        # In the past and in the future, the other routes apply.
        assert (
            routing_table.route_for(session, SERVICE, ADDRESS, NOW - 5 * DAY).endpoint_id
            == "ep-old"
        )
        assert (
            routing_table.route_for(session, SERVICE, ADDRESS, NOW + 2 * DAY).endpoint_id
            == "ep-next"
        )
        # At the instant one route ends and the next begins, only the next applies
        # (valid_from inclusive, valid_to exclusive).
        assert routing_table.route_for(session, SERVICE, ADDRESS, NOW - DAY).endpoint_id == "ep-now"
        routing_table.add_route(session, SERVICE, ADDRESS, "ep-also", valid_from=NOW - DAY)
        with pytest.raises(routing_table.RoutingTableError) as two:
            routing_table.route_for(session, SERVICE, ADDRESS)
        assert two.value.code == "ambiguous-route"
        # Another service contract is not affected.
        with pytest.raises(routing_table.RoutingTableError):
            routing_table.route_for(session, "urn:other", ADDRESS)


def test_periods_must_be_sane(app: FastAPI) -> None:
    with app.state.session_factory() as session, session.begin():
        with pytest.raises(ValueError, match="after"):
            routing_table.add_route(
                session, SERVICE, ADDRESS, "ep", valid_from=NOW, valid_to=NOW - DAY
            )
        with pytest.raises(ValueError, match="zone"):
            routing_table.add_route(
                session, SERVICE, ADDRESS, "ep", valid_from=datetime.datetime(2026, 1, 1)
            )


def test_authorisation_table(app: FastAPI) -> None:
    with app.state.session_factory() as session, session.begin():
        assert not routing_table.is_authorised(session, "kv-gateway", SERVICE, ADDRESS)
        routing_table.add_authorisation(
            session, "kv-gateway", SERVICE, ADDRESS, valid_from=NOW - DAY, valid_to=NOW + DAY
        )
        assert routing_table.is_authorised(session, "kv-gateway", SERVICE, ADDRESS)
        assert not routing_table.is_authorised(
            session, "kv-gateway", SERVICE, ADDRESS, NOW + 2 * DAY
        )
        assert not routing_table.is_authorised(session, "another", SERVICE, ADDRESS)
        assert not routing_table.is_authorised(session, "kv-gateway", "urn:other", ADDRESS)
        assert not routing_table.is_authorised(session, "kv-gateway", SERVICE, "SE2321000016-OTHER")


@pytest.mark.usefixtures("demo")
def test_routing_table_decides_and_needs_authorisation(app: FastAPI) -> None:
    settings = app.state.settings
    service = settings.routing_service_contract
    with app.state.session_factory() as session, session.begin():
        store = ResourceStore(session)
        unit = store.read("Organization", "vc-sodermalm")
        assert directory.way_in(store, unit, service).endpoint.id == "ep-vc-sodermalm"
        hsa = directory.hsa_id_of(unit.body or {})
        assert hsa is not None
        # A vägval overrides the directory's Endpoint...
        routing_table.add_route(session, service, hsa, "ep-vc-halmstad-norr", valid_from=NOW - DAY)
        way = directory.way_in(store, unit, service)
        assert (way.endpoint.id, way.from_routing_table) == ("ep-vc-halmstad-norr", True)
        # ...and an expired-only vägval is a routing error, not a silent fallback.
        other = store.read("Organization", "vc-jonkoping-centrum")
        other_hsa = directory.hsa_id_of(other.body or {})
        assert other_hsa is not None
        routing_table.add_route(
            session,
            service,
            other_hsa,
            "ep-vc-jonkoping-centrum",
            valid_from=NOW - 2 * DAY,
            valid_to=NOW - DAY,
        )
        with pytest.raises(directory.DirectoryError) as caught:
            directory.way_in(store, other, service)
        assert caught.value.code == "no-route"
