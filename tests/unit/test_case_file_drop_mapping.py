"""Mapping files for the file-drop case adapter: the examples load, bad files are refused
at start with one line that names the key."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from adapters.case.file_drop.cli import app as cli_app
from adapters.case.file_drop.mapping import MappingError, load_mapping, parse_mapping

MAPPINGS = Path(__file__).parents[2] / "mappings"
EXAMPLES = ("example-json.toml", "example-csv.toml", "example-xml.toml")


def example(name: str = "example-xml.toml") -> dict[str, Any]:
    with (MAPPINGS / name).open("rb") as handle:
        return tomllib.load(handle)


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_example_mappings_load(name: str) -> None:
    mapping = load_mapping(MAPPINGS / name)
    assert mapping.format.input == name.removeprefix("example-").removesuffix(".toml")
    assert mapping.kommun.organization == "Organization/kommun-2180"


def _broken(change: Any, name: str = "example-xml.toml") -> str:
    data = copy.deepcopy(example(name))
    change(data)
    with pytest.raises(MappingError) as refused:
        parse_mapping(data, "m.toml")
    message = str(refused.value)
    assert "\n" not in message
    return message


def test_a_missing_required_field_is_named() -> None:
    message = _broken(lambda d: d["fields"].pop("case_id"))
    assert message == "m.toml: key fields.case_id is required"


def test_a_required_field_may_come_from_a_default_instead() -> None:
    data = example("example-json.toml")
    data["fields"].pop("reason")  # convert.reason has a default
    assert parse_mapping(data).convert["reason"].default == "annat"


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda d: d["format"].update(input="yaml"), "key format.input:"),
        (lambda d: d["format"].update(max_bytes=0), "key format.max_bytes:"),
        (lambda d: d["format"].update(encoding="klingon"), "key format.encoding:"),
        (lambda d: d["format"].update(colour="blue"), "key format.colour:"),
        (lambda d: d.pop("kommun"), "key kommun:"),
        (lambda d: d["kommun"].update(organization="kommun-2180"), "key kommun.organization:"),
        (lambda d: d["fields"].update(shoe_size="/x"), "key fields:"),
        (lambda d: d["fields"].update(case_id="/e:Begaran/[["), "key fields.case_id: is not"),
        # Valid syntax that cannot run: found at start, not blamed on every file.
        (lambda d: d["fields"].update(question="foo(1)"), "key fields.question: is an XPath"),
        (lambda d: d["fields"].update(question="/q:Begaran"), "key fields.question: is an XPath"),
        (lambda d: d["fields"].update(question="$foo"), "key fields.question: is an XPath"),
        (lambda d: d["convert"].update(shoe_size={"remove": "-"}), "key convert.shoe_size"),
        (
            lambda d: d["convert"]["reason"].update(date_format="yyyy-mm-dd"),
            "key convert.reason.date_format:",
        ),
        (lambda d: d["convert"]["reason"].update(mapp={}), "key convert.reason.mapp:"),
        (lambda d: d["output"].update(kind="pdf"), "key output.kind:"),
        (lambda d: d["output"]["fields"].pop("task_id"), "key output.fields:"),
        (lambda d: d["output"]["fields"].update(colour="Farg"), "key output.fields:"),
        (lambda d: d["output"]["status_codes"].update(done="KLAR"), "key output.status_codes:"),
        (lambda d: d["output"]["answers"].update({"1.1": "1 bad name"}), "key output:"),
    ],
)
def test_a_bad_key_is_refused_by_name(change: Any, key: str) -> None:
    assert key in _broken(change)


def test_a_json_location_must_be_a_dotted_path() -> None:
    message = _broken(lambda d: d["fields"].update(case_id="arende..id"), "example-json.toml")
    assert "key fields.case_id: a JSON location is a dotted path" in message


def test_a_file_that_is_not_toml_is_refused_with_its_name(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[format\nname = 1\n")
    with pytest.raises(MappingError, match=r"bad\.toml: not valid TOML"):
        load_mapping(bad)
    with pytest.raises(MappingError, match="cannot read the mapping file"):
        load_mapping(tmp_path / "absent.toml")


def test_the_command_refuses_a_bad_mapping_at_start_in_one_line(tmp_path: Path) -> None:
    data = (MAPPINGS / "example-csv.toml").read_text().replace('case_id = "ArendeNr"\n', "", 1)
    (tmp_path / "vendor.toml").write_text(data)
    (tmp_path / "adapter.toml").write_text(
        '[gateway]\nbase_url = "http://127.0.0.1:9"\nclient_id = "c"\nkey_file = "k.json"\n'
        '[folders]\nroot = "drop"\n[mapping]\nfile = "vendor.toml"\n'
    )
    result = CliRunner().invoke(cli_app, ["--config", str(tmp_path / "adapter.toml"), "--once"])
    assert result.exit_code == 2
    assert result.output.strip().endswith("vendor.toml: key fields.case_id is required")
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "drop").exists(), "nothing is touched before the mapping is good"


def test_the_command_names_a_bad_key_of_its_own_configuration(tmp_path: Path) -> None:
    (tmp_path / "adapter.toml").write_text(
        '[gateway]\nbase_url = "ftp://x"\nclient_id = "c"\nkey_file = "k"\n'
        '[folders]\nroot = "drop"\n[mapping]\nfile = "v.toml"\n'
    )
    result = CliRunner().invoke(cli_app, ["--config", str(tmp_path / "adapter.toml")])
    assert result.exit_code == 2
    assert "key gateway.base_url:" in result.output
