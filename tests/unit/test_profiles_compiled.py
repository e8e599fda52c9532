"""The committed conformance artifacts in profiles/compiled/ are current and sane.

The first test recompiles the FHIR Shorthand sources with SUSHI (needs node and npm) and
fails when profiles/compiled/ is stale. The others read the committed JSON only.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ROOT / "profiles"
COMPILED = PROFILES / "compiled"
INVALID_DIR = COMPILED / "invalid"
INVALID_LIST = PROFILES / "invalid-examples.json"
QUESTIONNAIRE_FILE = COMPILED / "Questionnaire-medicinskt-utlatande-aktivitetsformaga.json"
QUESTIONNAIRE_URL = (
    "https://kv-gateway.se/fhir/Questionnaire/medicinskt-utlatande-aktivitetsformaga"
)

SICK_LEAVE = re.compile(r"sjukskriv|sjukpenning|sjukintyg", re.IGNORECASE)
# Letters that only Swedish (not English) text uses, plus common Swedish words.
SWEDISH = re.compile(r"[åäöÅÄÖ]|\b(och|med|som|till|av|om|enligt|eller|ska|den|det|ett|vid|inte)\b")

Item = dict[str, Any]


def _load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name}: not a JSON object"
    return data


def _compiled_files() -> list[Path]:
    return sorted(COMPILED.rglob("*.json"))


def _walk(items: list[Item]) -> Iterator[Item]:
    for item in items:
        yield item
        yield from _walk(item.get("item", []))


def _questionnaire() -> dict[str, Any]:
    return _load(QUESTIONNAIRE_FILE)


def test_compiled_json_matches_fsh_sources() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip(
            "node/npm not installed: cannot run SUSHI to compare FSH with profiles/compiled/"
        )
    result = subprocess.run(
        ["bash", str(PROFILES / "build.sh"), "--check"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, (
        "profiles/compiled/ is stale or SUSHI failed; run `make profiles`.\n"
        + result.stderr[-4000:]
    )


def test_compiled_directory_is_populated() -> None:
    files = _compiled_files()
    assert len(files) > 20, "profiles/compiled/ looks empty; run `make profiles`"
    assert QUESTIONNAIRE_FILE.is_file()


@pytest.mark.parametrize(
    "path", _compiled_files(), ids=lambda p: p.relative_to(COMPILED).as_posix()
)
def test_every_compiled_file_is_a_fhir_resource(path: Path) -> None:
    resource = _load(path)
    assert isinstance(resource.get("resourceType"), str)
    assert path.name == f"{resource['resourceType']}-{resource['id']}.json"
    assert path.read_text(encoding="utf-8").endswith("}\n"), "not in canonical formatting"


def test_questionnaire_identity() -> None:
    questionnaire = _questionnaire()
    assert questionnaire["url"] == QUESTIONNAIRE_URL
    assert questionnaire["version"] == "1.0.0"
    assert questionnaire["status"] == "active"
    assert questionnaire["title"] == "Medicinskt utlåtande till socialtjänsten – aktivitetsförmåga"


def test_questionnaire_has_no_sick_leave_question() -> None:
    items = list(_walk(_questionnaire()["item"]))
    offending = [
        item["linkId"]
        for item in items
        if SICK_LEAVE.search(str(item.get("text", ""))) or SICK_LEAVE.search(item["linkId"])
        if item["type"] != "display"
    ]
    assert offending == [], f"questions about sick leave are not allowed: {offending}"
    displays = [item for item in items if item["type"] == "display"]
    mentioning = [item["linkId"] for item in displays if SICK_LEAVE.search(item.get("text", ""))]
    assert mentioning == ["inte-sjukintyg"], "only the disclaimer may mention sjukintyg"
    disclaimer = next(item for item in displays if item["linkId"] == "inte-sjukintyg")
    assert "inte ett sjukintyg" in disclaimer["text"]
    assert not re.search(r"sjukskriv|sjukpenning", disclaimer["text"], re.IGNORECASE)


def test_questionnaire_link_ids_are_unique() -> None:
    link_ids = [item["linkId"] for item in _walk(_questionnaire()["item"])]
    duplicates = sorted({link_id for link_id in link_ids if link_ids.count(link_id) > 1})
    assert duplicates == []


def test_questionnaire_keeps_af00213_numbering() -> None:
    link_ids = {item["linkId"]: item["type"] for item in _walk(_questionnaire()["item"])}
    for number in ("1.1", "2.1", "3.1", "4.1"):
        assert link_ids.get(number) == "boolean", number
    for number in ("1.2", "2.2", "3.2", "4.2", "5.1"):
        assert link_ids.get(number) == "text", number


def test_every_text_paired_with_a_boolean_is_enabled_by_it() -> None:
    """Within a group, each text item beside a boolean question depends on that boolean."""
    problems: list[str] = []
    for group in _walk(_questionnaire()["item"]):
        children = group.get("item", [])
        booleans = {child["linkId"] for child in children if child["type"] == "boolean"}
        if not booleans:
            continue
        for child in children:
            if child["type"] != "text":
                continue
            questions = {when["question"] for when in child.get("enableWhen", [])}
            if not questions & booleans:
                problems.append(child["linkId"])
    assert problems == [], f"text items without enableWhen on their yes/no question: {problems}"


def test_enable_when_refers_to_existing_earlier_items() -> None:
    seen: set[str] = set()
    for item in _walk(_questionnaire()["item"]):
        for when in item.get("enableWhen", []):
            assert when["question"] in seen, f"{item['linkId']} depends on unknown/later item"
        seen.add(item["linkId"])


def test_questionnaire_uses_only_core_extensions() -> None:
    allowed = {
        "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl",
        "http://hl7.org/fhir/StructureDefinition/minValue",
        "http://hl7.org/fhir/StructureDefinition/maxValue",
    }
    used = {
        extension["url"]
        for item in _walk(_questionnaire()["item"])
        for extension in item.get("extension", [])
    }
    assert used <= allowed, used - allowed
    hours = next(
        item for item in _walk(_questionnaire()["item"]) if item["linkId"] == "kv.omfattning.timmar"
    )
    assert hours["type"] == "integer"
    bounds = {ext["url"].rsplit("/", 1)[-1]: ext["valueInteger"] for ext in hours["extension"]}
    assert bounds == {"minValue": 1, "maxValue": 40}


def test_choice_items_have_a_local_answer_value_set() -> None:
    value_sets = {_load(path)["url"] for path in COMPILED.glob("ValueSet-*.json")}
    for item in _walk(_questionnaire()["item"]):
        if item["type"] == "choice":
            assert item.get("answerValueSet") in value_sets, item["linkId"]


# Resource types whose canonical resources we author; SearchParameter has no title in R4.
TITLED_TYPES = (
    "StructureDefinition",
    "CodeSystem",
    "ValueSet",
    "CapabilityStatement",
    "Questionnaire",
)
CONFORMANCE_TYPES = (*TITLED_TYPES, "SearchParameter")


def _conformance_files() -> list[Path]:
    return [
        path
        for path in sorted(COMPILED.glob("*.json"))
        if path.name.split("-", 1)[0] in CONFORMANCE_TYPES
    ]


@pytest.mark.parametrize("path", _conformance_files(), ids=lambda p: p.name)
def test_conformance_resources_have_swedish_title_and_description(path: Path) -> None:
    """Language sv, a human title that is not the English computable name, Swedish text."""
    resource = _load(path)
    title = resource.get("title", "")
    description = resource.get("description", "")
    assert resource.get("language") == "sv", f"{path.name}: language is not sv"
    assert description, f"{path.name} has no description"
    if resource["resourceType"] in TITLED_TYPES:
        assert title, f"{path.name} has no title"
        assert title != resource.get("name"), f"{path.name}: title is the English name"
    assert SWEDISH.search(f"{title} {description}"), f"{path.name}: title/description not Swedish"
    assert resource["url"].startswith("https://kv-gateway.se/fhir/")


def test_every_profile_has_a_valid_example() -> None:
    profiles = {
        resource["url"]
        for resource in map(_load, COMPILED.glob("StructureDefinition-*.json"))
        if resource["type"] != "Extension"
    }
    claimed = {
        url
        for resource in map(_load, COMPILED.glob("*.json"))
        for url in resource.get("meta", {}).get("profile", [])
    }
    assert profiles - claimed == set(), "profiles without a valid example"


def test_invalid_examples_are_listed_and_separated() -> None:
    listing = _load(INVALID_LIST)["examples"]
    listed = {entry["id"]: entry for entry in listing}
    assert len(listed) == len(listing), "duplicate ids in invalid-examples.json"
    on_disk = {_load(path)["id"]: path for path in INVALID_DIR.glob("*.json")}
    assert set(listed) == set(on_disk)
    for resource_id, entry in listed.items():
        resource = _load(on_disk[resource_id])
        assert resource_id.startswith("invalid-")
        assert (PROFILES / entry["file"]) == on_disk[resource_id]
        assert resource["resourceType"] == entry["resourceType"]
        assert resource["meta"]["profile"] == [entry["profile"]]
        assert (
            COMPILED / f"StructureDefinition-{entry['profile'].rsplit('/', 1)[-1]}.json"
        ).is_file()
        assert entry["expression"].split(".")[0].split("[")[0] == entry["resourceType"]
        assert entry["reason"]
    stray = [p.name for p in COMPILED.glob("*.json") if _load(p)["id"].startswith("invalid-")]
    assert stray == [], "invalid examples must live in compiled/invalid/"


def test_valid_identifiers_in_examples_have_correct_luhn() -> None:
    def luhn_ok(digits: str) -> bool:
        total = 0
        for index, char in enumerate(digits):
            value = int(char) * (2 if index % 2 == 0 else 1)
            total += value - 9 if value > 9 else value
        return total % 10 == 0

    checked = 0
    for path in COMPILED.glob("*.json"):
        for identifier in _load(path).get("identifier", []):
            system = identifier.get("system", "")
            value = identifier.get("value", "")
            if system.endswith(("/personnummer", "/samordningsnummer")):
                assert luhn_ok(value[2:]), f"{path.name}: {value}"
                checked += 1
            elif system == "urn:oid:2.5.4.97":
                assert luhn_ok(value), f"{path.name}: {value}"
                checked += 1
    assert checked >= 3


def test_every_organization_type_the_gateway_writes_is_in_its_code_system() -> None:
    """The directory (seed, import) types Organizations with these codes; a code missing
    from the published CodeSystem makes the directory's own entries non-conformant."""
    from gateway.routing.directory_io import _ORG_TYPE_DISPLAY

    code_system = _load(COMPILED / "CodeSystem-kv-organization-type.json")
    published = {concept["code"]: concept["display"] for concept in code_system["concept"]}
    for code, display in _ORG_TYPE_DISPLAY.items():
        assert published.get(code) == display, code
