"""The file-drop adapter's submission Bundle, its files back to the case system, and its
poll mark."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from adapters.case.file_drop.mapping import load_mapping
from adapters.case.file_drop.state import AdapterState, StateError
from adapters.case.file_drop.submission import build_submission, idempotency_key
from adapters.case.file_drop.vendor_records import RecordError, read_record
from adapters.case.file_drop.writeback import answer_record, render, status_record, write_atomically
from gateway.validation.identifiers import SYSTEM_PERSONNUMMER, SYSTEM_SAMORDNINGSNUMMER
from tests.support.answers import example_answer

MAPPINGS = Path(__file__).parents[2] / "mappings"
TASK: dict[str, Any] = {
    "resourceType": "Task",
    "id": "t-1",
    "meta": {"versionId": "3", "lastUpdated": "2026-12-08T10:00:00.123456+00:00"},
    "status": "on-hold",
    "businessStatus": {"coding": [{"code": "besok-bokat"}]},
}


def _resources(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["resource"]["resourceType"]: e["resource"] for e in bundle["entry"]}


def test_the_bundle_links_patient_role_consent_and_request() -> None:
    mapping = load_mapping(MAPPINGS / "example-csv.toml")
    case = read_record((MAPPINGS / "examples/example-csv.csv").read_bytes(), mapping)
    bundle = build_submission(case, mapping)
    urls = {e["resource"]["resourceType"]: e["fullUrl"] for e in bundle["entry"]}
    made = _resources(bundle)
    request = made["ServiceRequest"]
    assert request["identifier"][0]["system"] == mapping.kommun.case_system
    assert request["identifier"][0]["value"] == "EB-2026-0043"
    assert request["subject"]["reference"] == urls["Patient"]
    assert request["requester"]["reference"] == urls["PractitionerRole"]
    assert request["supportingInfo"] == [{"reference": urls["Consent"]}]
    assert made["PractitionerRole"]["organization"]["reference"] == "Organization/kommun-2180"
    # Oral consent: recorded by the socialsekreterare, no form.
    consent = made["Consent"]
    assert "sourceAttachment" not in consent
    recorded = consent["verification"][0]["extension"][0]["valueReference"]
    assert recorded == {"reference": urls["PractitionerRole"]}
    assert consent["provision"]["period"] == {"start": "2026-11-30", "end": "2027-11-30"}


def test_a_samordningsnummer_gets_its_own_system() -> None:
    mapping = load_mapping(MAPPINGS / "example-json.toml")
    case = read_record((MAPPINGS / "examples/example-json.json").read_bytes(), mapping)
    assert _resources(build_submission(case, mapping))["Patient"]["identifier"][0]["system"] == (
        SYSTEM_PERSONNUMMER
    )
    case["personnummer"] = "198503742385"  # day 14 + 60
    patient = _resources(build_submission(case, mapping))["Patient"]
    assert patient["identifier"][0]["system"] == SYSTEM_SAMORDNINGSNUMMER
    # A digit int() does not take (superscript two) is no day: the gateway judges the number.
    case["personnummer"] = "198503²42385"
    patient = _resources(build_submission(case, mapping))["Patient"]
    assert patient["identifier"][0]["system"] == SYSTEM_PERSONNUMMER


def test_written_consent_needs_the_form() -> None:
    mapping = load_mapping(MAPPINGS / "example-json.toml")
    data = json.loads((MAPPINGS / "examples/example-json.json").read_text())
    del data["samtycke"]["blankett"]
    case = read_record(json.dumps(data).encode(), mapping)
    with pytest.raises(RecordError, match="blanketten"):
        build_submission(case, mapping)


def test_the_idempotency_key_is_the_kommun_and_case_and_visible_ascii() -> None:
    mapping = load_mapping(MAPPINGS / "example-json.toml")
    key = idempotency_key(mapping, "EB-2026-0042")
    assert key == idempotency_key(mapping, "EB-2026-0042")
    assert key != idempotency_key(mapping, "EB-2026-0043")
    assert key.isascii()
    assert key.isprintable()
    assert len(key) <= 255
    assert idempotency_key(mapping, "ärende åäö").isascii()


def test_an_answer_as_xml_with_vendor_names_codes_and_the_rest_by_link_id() -> None:
    output = load_mapping(MAPPINGS / "example-xml.toml").output
    record = answer_record({**TASK, "status": "completed"}, "EB-1", example_answer())
    root = etree.fromstring(render(record, output))
    assert root.tag == "Svar"
    assert root.findtext("Typ") == "answer"
    assert root.findtext("Status") == "KLAR"
    assert root.findtext("ArendeId") == "EB-1"
    assert root.findtext("Funktionsnedsattning") == "true"
    assert root.findtext("UtredningBehandling") == "false"
    rest = {e.get("linkId"): e.text for e in root.iter("OvrigtSvar")}
    assert rest["kv.underlag.profession"] == "fysioterapeut"
    assert rest["kv.omfattning.timmar"] == "20"
    assert len(root.findall("OvrigtSvar[@linkId='kv.underlag.typ']")) == 2


def test_a_status_as_json_with_the_work_status() -> None:
    output = load_mapping(MAPPINGS / "example-json.toml").output
    record = json.loads(render(status_record(TASK, "EB-1"), output))["kvSvar"]
    assert record == {
        "typ": "status",
        "arendeId": "EB-1",
        "uppdragId": "t-1",
        "status": "VILANDE",
        "arbetsstatus": "besok-bokat",
        "andrad": "2026-12-08T10:00:00.123456+00:00",
    }


def test_files_are_written_whole_and_private(tmp_path: Path) -> None:
    written = write_atomically(tmp_path, "status-t-1-3.json", b"{}")
    assert written.read_bytes() == b"{}"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert os.listdir(tmp_path) == ["status-t-1-3.json"]


def test_the_mark_skips_what_was_handled_and_keeps_the_same_instant(tmp_path: Path) -> None:
    state = AdapterState()
    assert not state.seen("2026-12-08T10:00:00+00:00", "t-1/1")
    state.advance("2026-12-08T10:00:00+00:00", "t-1/1")
    state.save(tmp_path)
    again = AdapterState.load(tmp_path)
    assert again.seen("2026-12-08T10:00:00+00:00", "t-1/1")
    assert not again.seen("2026-12-08T10:00:00+00:00", "t-2/1"), "same instant, other Task"
    assert again.seen("2026-12-08T09:59:59.5+00:00", "t-3/1")
    assert not again.seen("2026-12-08T10:00:00.000001+00:00", "t-1/2")


def test_what_xml_cannot_hold_is_replaced_not_a_crash() -> None:
    """A Task's text stored before the gateway refused U+FFFF, say, must not stop every
    round of an adapter that writes XML."""
    output = load_mapping(MAPPINGS / "example-xml.toml").output
    record = {"kind": "status", "case_id": "X-1", "task_id": "t1", "status": "on-hold"}
    record["reason"] = "Väntar \uffff på \x01 journal"
    written = render(record, output)
    assert "Väntar \ufffd på \ufffd journal" in etree.fromstring(written).xpath("string(.)")


def test_a_broken_state_file_is_named_not_a_crash(tmp_path: Path) -> None:
    for broken in (
        b"{not json",
        b"[1, 2]",
        b'{"cases": [1, 2]}',
        b"\xff\xfe",
        b'{"mark": "i g\xc3\xa5r"}',
    ):
        (tmp_path / "state.json").write_bytes(broken)
        with pytest.raises(StateError) as error:
            AdapterState.load(tmp_path)
        assert "state.json" in str(error.value)
    (tmp_path / "state.json").write_text('{"mark": "2026-12-08T03:00:00"}')  # no time zone
    with pytest.raises(StateError):
        AdapterState.load(tmp_path)
