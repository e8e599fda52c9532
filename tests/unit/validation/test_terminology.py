"""ValueSet expansion and membership."""

from __future__ import annotations

from gateway.validation.terminology import Terminology, all_codes, canonical_url
from tests.unit.validation import fixtures as fx

CS2 = "urn:cs2"


def terminology(*value_sets: dict[str, object]) -> Terminology:
    sets = {str(vs["url"]): vs for vs in (fx.VALUE_SET, *value_sets)}
    return Terminology(
        sets,
        {fx.CS: fx.CODE_SYSTEM},
        packaged_expansions={"urn:core-vs": {CS2: frozenset({"a", "b"})}},
        packaged_code_systems={CS2: frozenset({"a", "b", "c"})},
    )


def test_whole_code_system_with_nested_concepts() -> None:
    t = terminology()
    assert t.contains_coding(fx.VS, fx.CS, "dark-red") is True
    assert t.contains_coding(fx.VS, fx.CS, "green") is False
    assert t.contains_coding(fx.VS, "urn:other", "red") is False
    assert t.contains_code(f"{fx.VS}|1.0", "blue") is True


def test_listed_concepts_exclude_and_imports() -> None:
    listed = {
        "url": "urn:listed",
        "compose": {"include": [{"system": CS2, "concept": [{"code": "a"}]}]},
    }
    whole = {
        "url": "urn:whole",
        "compose": {
            "include": [{"system": CS2}],
            "exclude": [{"system": CS2, "concept": [{"code": "c"}]}],
        },
    }
    imported = {
        "url": "urn:imported",
        "compose": {"include": [{"valueSet": ["urn:core-vs|4.0.1"]}]},
    }
    t = terminology(listed, whole, imported)
    assert t.contains_code("urn:listed", "a") is True
    assert t.contains_code("urn:listed", "b") is False
    assert t.contains_code("urn:whole", "b") is True
    assert t.contains_code("urn:whole", "c") is False
    assert t.contains_coding("urn:imported", CS2, "b") is True
    assert t.contains_coding("urn:imported", CS2, "c") is False


def test_what_cannot_be_expanded_is_unknown_not_refused() -> None:
    filtered = {
        "url": "urn:filtered",
        "compose": {
            "include": [
                {
                    "system": "http://snomed.info/sct",
                    "filter": [{"property": "concept", "op": "is-a", "value": "1"}],
                }
            ]
        },
    }
    unknown_system = {"url": "urn:unknown", "compose": {"include": [{"system": "urn:nobody"}]}}
    cycle = {"url": "urn:cycle", "compose": {"include": [{"valueSet": ["urn:cycle"]}]}}
    t = terminology(filtered, unknown_system, cycle)
    for url in ("urn:filtered", "urn:unknown", "urn:cycle", "urn:not-loaded"):
        assert t.contains_code(url, "x") is None, url
        assert t.knows(url) is False


def test_stored_expansion_is_used_without_compose() -> None:
    expanded = {"url": "urn:expanded", "expansion": {"contains": [{"system": CS2, "code": "z"}]}}
    assert terminology(expanded).contains_coding("urn:expanded", CS2, "z") is True


def test_helpers() -> None:
    assert canonical_url("http://x/vs|4.0.1") == "http://x/vs"
    assert all_codes({"content": "example", "concept": [{"code": "a"}]}) is None
