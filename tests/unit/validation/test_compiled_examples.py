"""The compiled artifacts in profiles/: valid examples pass, invalid ones fail where
profiles/invalid-examples.json says, and the packaged core subset is current."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.errors import Severity
from gateway.validation.conformance import DEFAULT_COMPILED_DIR
from gateway.validation.core_subset import DEFAULT_OUT, DEFAULT_PACKAGE_DIR, build_subset, dump
from gateway.validation.factory import build_validator, shared_conformance

PROFILES = DEFAULT_COMPILED_DIR.parent
INVALID_LIST = PROFILES / "invalid-examples.json"
ARTIFACT_TYPES = {
    "StructureDefinition",
    "ValueSet",
    "CodeSystem",
    "ImplementationGuide",
    "CapabilityStatement",
    "SearchParameter",
}

pytestmark = pytest.mark.skipif(
    not DEFAULT_COMPILED_DIR.is_dir(), reason="profiles/compiled is not present"
)


def _examples() -> list[Path]:
    if not DEFAULT_COMPILED_DIR.is_dir():
        return []
    return [
        path
        for path in sorted(DEFAULT_COMPILED_DIR.glob("*.json"))
        if json.loads(path.read_text(encoding="utf-8"))["resourceType"] not in ARTIFACT_TYPES
    ]


def _invalid() -> list[dict[str, Any]]:
    if not INVALID_LIST.is_file():
        return []
    examples: list[dict[str, Any]] = json.loads(INVALID_LIST.read_text(encoding="utf-8"))[
        "examples"
    ]
    return examples


def test_there_is_something_to_check() -> None:
    assert len(_examples()) >= 10
    assert len(_invalid()) >= 10
    conformance = shared_conformance()
    assert (
        "https://kv-gateway.se/fhir/StructureDefinition/kv-servicerequest"
        in conformance.local_profiles
    )
    assert conformance.questionnaire(
        "https://kv-gateway.se/fhir/Questionnaire/medicinskt-utlatande-aktivitetsformaga|1.0.0"
    )


@pytest.mark.parametrize("path", _examples(), ids=lambda p: p.stem)
def test_valid_example_passes_strictly(path: Path) -> None:
    resource = json.loads(path.read_text(encoding="utf-8"))
    issues = build_validator().issues(resource, strict=True)
    blocking = [i for i in issues if i.severity in (Severity.ERROR, Severity.FATAL)]
    assert blocking == []


@pytest.mark.parametrize("example", _invalid(), ids=lambda e: str(e["id"]))
def test_invalid_example_fails_at_the_expected_path(example: dict[str, Any]) -> None:
    resource = json.loads((PROFILES / example["file"]).read_text(encoding="utf-8"))
    assert example["profile"] in resource["meta"]["profile"]
    issues = build_validator().issues(resource)
    at_path = [
        i
        for i in issues
        if example["expression"] in i.expression and i.severity.value == example["severity"]
    ]
    assert at_path, [(i.expression, i.diagnostics) for i in issues]
    rule = str(example["rule"])
    if rule.startswith("invariant:"):
        assert any(rule.split(":", 1)[1] in (i.diagnostics or "") for i in at_path)
    for issue in issues:  # the Swedish text is there and quotes no identifier value
        assert issue.text_sv
        for identifier in resource.get("identifier", []):
            assert str(identifier.get("value")) not in issue.text_sv + (issue.diagnostics or "")


def test_packaged_core_subset_is_current() -> None:
    if not (DEFAULT_PACKAGE_DIR / "package.json").is_file():
        pytest.skip("hl7.fhir.r4.core#4.0.1 is not in the FHIR package cache")
    fresh = dump(build_subset(DEFAULT_PACKAGE_DIR, DEFAULT_COMPILED_DIR))
    assert fresh == DEFAULT_OUT.read_text(encoding="utf-8"), (
        "run: python -m gateway.validation.core_subset"
    )
