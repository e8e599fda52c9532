"""Reading dropped vendor files by a mapping: each input kind, conversions, and hostile or
broken files (entity expansion, DTDs, external entities, oversized, malformed)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from adapters.case.file_drop.mapping import Mapping, load_mapping
from adapters.case.file_drop.vendor_records import RecordError, read_file, read_record

MAPPINGS = Path(__file__).parents[2] / "mappings"
ANNA = "198503142385"


def mapping(kind: str) -> Mapping:
    return load_mapping(MAPPINGS / f"example-{kind}.toml")


def sample(kind: str, ext: str) -> bytes:
    return (MAPPINGS / f"examples/example-{kind}.{ext}").read_bytes()


def refused(data: bytes, kind: str) -> RecordError:
    with pytest.raises(RecordError) as error:
        read_record(data, mapping(kind))
    return error.value


def test_json_by_dotted_paths_with_conversions() -> None:
    case = read_file(MAPPINGS / "examples/example-json.json", mapping("json"))
    assert case["case_id"] == "EB-2026-0042"
    assert case["personnummer"] == ANNA  # "19850314-2385" with the hyphen removed
    assert case["consent_method"] == "skriftligt"  # the vendor's "S", mapped
    assert case["consent_given"] == "2026-11-30"  # "30.11.2026" by date_format
    assert case["activity_type"] == "praktik"
    assert case["activity_hours"] == "20"  # a JSON number becomes text


def test_csv_one_case_per_file_by_column() -> None:
    case = read_record(sample("csv", "csv"), mapping("csv"))
    assert case["case_id"] == "EB-2026-0043"
    assert case["consent_method"] == "muntligt"
    assert case["consent_given"] == "2026-11-30"
    assert "consent_form" not in case  # an empty cell is no value


def test_xml_by_xpath_with_namespaces_and_attributes() -> None:
    case = read_record(sample("xml", "xml"), mapping("xml"))
    assert case["case_id"] == "EB-2026-0044"  # an attribute
    assert case["personnummer"] == "196801095537"  # an element's text
    assert case["reason"] == "ohalsa-uppgiven"
    assert case["consent_given"] == "2026-11-30T10:00:00+01:00"


def test_a_default_fills_an_absent_field() -> None:
    data = json.loads(sample("json", "json"))
    del data["arende"]["orsak"]
    case = read_record(json.dumps(data).encode(), mapping("json"))
    assert case["reason"] == "annat"


def test_a_missing_required_field_is_named_without_values() -> None:
    data = json.loads(sample("json", "json"))
    del data["arende"]["id"]
    error = refused(json.dumps(data).encode(), "json")
    assert "'case_id' saknas" in error.text_sv
    assert error.where == "arende.id"


def test_a_code_not_in_the_map_is_refused_without_its_value() -> None:
    data = json.loads(sample("json", "json"))
    data["samtycke"]["typ"] = "X-" + ANNA
    error = refused(json.dumps(data).encode(), "json")
    assert "consent_method" in error.text_sv
    assert "kodlista" in error.text_sv
    assert ANNA not in str(error) + (error.where or "")


def test_a_date_in_the_wrong_format_is_refused() -> None:
    data = json.loads(sample("json", "json"))
    data["samtycke"]["datum"] = "2026-11-30"
    assert "%d.%m.%Y" in refused(json.dumps(data).encode(), "json").text_sv
    data = json.loads(sample("json", "json"))
    data["arende"]["onskatSvarSenast"] = "snart"
    assert "ÅÅÅÅ-MM-DD" in refused(json.dumps(data).encode(), "json").text_sv
    # strptime reads "2026113" by %Y%m%d as 2026-11-03, and "1.2.2026" by %d.%m.%Y: a date
    # is only one as the format writes it.
    header, row = sample("csv", "csv").decode().splitlines()
    given = next(v for v in row.split(";") if len(v) == 8 and v.isdecimal() and v[:2] == "20")
    short = row.replace(given, given[:6] + given[7], 1)
    assert "%Y%m%d" in refused(f"{header}\n{short}\n".encode(), "csv").text_sv
    data["arende"]["onskatSvarSenast"] = "2026-12-24"
    data["samtycke"]["datum"] = "1.2.2026"
    assert "%d.%m.%Y" in refused(json.dumps(data).encode(), "json").text_sv


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b'{"arende": {"id": "1"', "inte giltig JSON"),
        (b"[1, 2]", "JSON-objekt"),
        (b'{"arende": {"id": {"a": 1}}}', "enkelt värde"),
        (b"\xff\xfe{}", "utf-8"),
        # A repeated key is ambiguous (which person?), not a value to take the last of.
        (b'{"klient": {"personnummer": "1"}, "klient": {"personnummer": "2"}}', "samma nyckel"),
    ],
)
def test_malformed_json_is_refused(data: bytes, words: str) -> None:
    assert words in refused(data, "json").text_sv


def test_malformed_csv_is_refused() -> None:
    header, row = sample("csv", "csv").decode().splitlines()
    assert "2 ärenderader" in refused(f"{header}\n{row}\n{row}\n".encode(), "csv").text_sv
    assert "0 ärenderader" in refused(f"{header}\n".encode(), "csv").text_sv
    assert "kolumner" in refused(f"{header}\n{row};extra\n".encode(), "csv").text_sv
    broken_quote = f'{header}\n"EB-1"x;{row.split(";", 1)[1]}\n'.encode()
    assert "inte giltig CSV" in refused(broken_quote, "csv").text_sv
    columns = header.split(";")
    twice = ";".join([*columns[:-1], columns[0]])
    assert "samma kolumnnamn" in refused(f"{twice}\n{row}\n".encode(), "csv").text_sv


def test_only_a_regular_file_is_read(tmp_path: Path) -> None:
    """A link (to a case file elsewhere, or to /etc/passwd) or a pipe dropped in inbox/ is
    refused with a reason, never read through."""
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_bytes(sample("json", "json"))
    link = tmp_path / "link.json"
    link.symlink_to(elsewhere)
    pipe = tmp_path / "pipe.json"
    os.mkfifo(pipe)
    for path in (link, pipe):
        with pytest.raises(RecordError) as error:
            read_file(path, mapping("json"))
        assert "ingen vanlig fil" in error.value.text_sv
    assert read_file(elsewhere, mapping("json"))["personnummer"] == ANNA


def test_an_oversized_file_is_refused_unread(tmp_path: Path) -> None:
    limit = mapping("json").format.max_bytes
    big = tmp_path / "big.json"
    big.write_bytes(b'{"x": "' + b"a" * limit + b'"}')
    with pytest.raises(RecordError, match=f"större än de {limit} byte"):
        read_file(big, mapping("json"))


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<Begaran xmlns="urn:example:arende:1"><Arende id="&lol3;"/></Begaran>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Begaran [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Begaran xmlns="urn:example:arende:1"><Arende id="&secret;"/></Begaran>"""

DTD_ONLY = b"""<?xml version="1.0"?>
<!DOCTYPE Begaran SYSTEM "http://127.0.0.1:9/arende.dtd">
<Begaran xmlns="urn:example:arende:1"><Arende id="1"/></Begaran>"""


@pytest.mark.parametrize("hostile", [BILLION_LAUGHS, EXTERNAL_ENTITY, DTD_ONLY])
def test_hostile_xml_is_refused_before_anything_is_resolved(hostile: bytes) -> None:
    error = refused(hostile, "xml")
    assert "DTD" in error.text_sv
    assert "root:" not in error.text_sv
    assert "lollol" not in error.text_sv


def test_broken_xml_and_repeated_fields_are_refused() -> None:
    assert "välformad" in refused(b"<Begaran><Arende>", "xml").text_sv
    doubled = sample("xml", "xml").replace(b"</Klient>", b"<Personnummer>1</Personnummer></Klient>")
    error = refused(doubled, "xml")
    assert "'personnummer' förekommer mer än en gång" in error.text_sv
