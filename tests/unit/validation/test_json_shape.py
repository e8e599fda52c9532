"""FHIR's JSON rules that the R4 models let pass (gateway.validation.json_shape)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.validation.json_shape import shape_issues
from gateway.validation.structure import structure_issues
from tests.support.submissions import submission


def _found(extra: dict[str, Any]) -> list[tuple[str, str]]:
    issues = structure_issues({"resourceType": "Patient", **extra})
    return [(issue.expression[0], issue.text_sv) for issue in issues]


@pytest.mark.parametrize(
    ("extra", "path", "text"),
    [
        ({"active": "true"}, "Patient.active", "true eller false"),
        ({"multipleBirthInteger": "3"}, "Patient.multipleBirthInteger", "heltal"),
        ({"deceasedDateTime": 1700000000}, "Patient.deceasedDateTime", "text inom citattecken"),
        ({"multipleBirthInteger": 2.0}, "Patient.multipleBirthInteger", "heltal"),
        ({"name": []}, "Patient.name", "tomt"),
        ({"name": None}, "Patient.name", "tomt"),
        ({"name": [{}]}, "Patient.name[0]", "tomt"),
        ({"gender": None}, "Patient.gender", "tomt"),
        ({"_birthDate": None}, "Patient._birthDate", "tomt"),
        ({"name": [{"given": ["Anna", None]}]}, "Patient.name[0].given[1]", "tomt"),
        ({"name": [{"family": "And\x00ersson"}]}, "Patient.name[0].family", "styrtecken"),
        (
            {"identifier": [{"system": "urn:x\x1b", "value": "1"}]},
            "Patient.identifier[0].system",
            "styrtecken",
        ),
        ({"name": [{"family": "Andersson\u0085"}]}, "Patient.name[0].family", "styrtecken"),
        ({"name": [{"text": "Anna \u202eassredna"}]}, "Patient.name[0].text", "skrivriktningen"),
        ({"address": [{"line": ["Storg. \u2067"]}]}, "Patient.address[0].line[0]", "riktningen"),
        # A noncharacter XML cannot hold: it would make every RIVTA message undeliverable.
        ({"name": [{"family": "Anders\uffffson"}]}, "Patient.name[0].family", "styrtecken"),
        (
            {"contained": [{"resourceType": "Organization", "active": "false"}]},
            "Patient.contained[0].active",
            "true eller false",
        ),
    ],
)
def test_what_the_models_let_pass_is_refused_at_its_element(
    extra: dict[str, Any], path: str, text: str
) -> None:
    found = _found(extra)
    assert [p for p, _ in found] == [path]
    assert text in found[0][1]


def test_what_the_json_format_allows_passes() -> None:
    assert _found({"active": False, "multipleBirthInteger": 2}) == []
    assert _found({"name": [{"text": "Rad ett\nrad\ttvå\r\n"}]}) == []
    # Marks open no embedding: a right-to-left name may need them. U+00A0 is no C1 control.
    assert _found({"name": [{"text": "\u200fعلي\u200e Andersson\u00a0\u061c"}]}) == []
    assert _found({"name": [{"text": "Andersson \ufffd \U0001f600"}]}) == []  # XML holds these
    # A null holds the place of a given name that has only an extension.
    paired = {
        "given": [None, "Anna"],
        "_given": [{"extension": [{"url": "u", "valueString": "x"}]}, None],
    }
    assert _found({"name": [paired]}) == []


def test_a_request_bundles_entries_pass() -> None:
    bundle = submission("198503142385", "Organization/kommun-0180", unit="Organization/vc-1")
    for entry in bundle["entry"]:
        assert shape_issues(entry["resource"]) == []
