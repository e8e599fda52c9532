"""Reading a request body: a key twice in one object, and the nesting limit at its edge."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.api.body import parse_json_object
from gateway.errors import FhirError

LIMIT = 8


def _refusal(raw: str, max_depth: int = LIMIT) -> FhirError:
    with pytest.raises(FhirError) as caught:
        parse_json_object(raw.encode(), max_depth)
    assert caught.value.status == 400
    return caught.value


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        ('{"resourceType": "Patient", "active": true, "active": false}', "Patient.active"),
        ('{"resourceType": "Patient", "active": true, "active": true}', "Patient.active"),
        (
            '{"resourceType": "Patient", "name": [{}, {"given": [], "given": []}]}',
            "Patient.name[1].given",
        ),
        (
            '{"resourceType": "Patient", "_birthDate": {"id": "a", "id": "b"}}',
            "Patient._birthDate.id",
        ),
        # The first in the document, the outer one before the inner.
        ('{"resourceType": "Patient", "a": {"b": 1, "b": {"c": 1, "c": 2}}}', "Patient.a.b"),
        (
            '{"resourceType": "Patient", "a": {"b": 1, "b": 2}, "c": {"d": 1, "d": 2}}',
            "Patient.a.b",
        ),
        # Not named: which type is it? And keys that are no FHIR element names.
        ('{"resourceType": "Patient", "resourceType": "Bundle"}', None),
        ('{"active": true, "active": false}', None),
        ('{"resourceType": "Patient", "Bad Key": {"a": 1, "a": 2}}', None),
        ('{"resourceType": "Patient", "a": {"1980": 1, "1980": 2}}', None),
        # Refused as a key twice even though the JSON goes wrong further on.
        ('{"resourceType": "Patient", "a": 1, "a": 2} trailing', None),
    ],
)
def test_a_key_twice_is_refused_and_located_when_it_can_be_named(
    raw: str, where: str | None
) -> None:
    (issue,) = _refusal(raw).issues
    assert issue.code == "structure"
    assert issue.expression == ((where,) if where else ())
    assert "två gånger" in issue.text_sv


def _nested(levels: int) -> Any:
    """A body ``levels`` deep: an object, then arrays, the last holding a string."""
    value: Any = "x"
    for _ in range(levels - 2):
        value = [value]
    return {"resourceType": "Patient", "x": value}


@pytest.mark.parametrize("empty", [[], {}])
def test_the_depth_limit_counts_values_not_brackets(empty: Any) -> None:
    assert parse_json_object(json.dumps(_nested(LIMIT)).encode(), LIMIT)["x"]
    assert _refusal(json.dumps(_nested(LIMIT + 1))).issues[0].code == "too-costly"
    # An empty object or array at the last level holds nothing deeper.
    inner: Any = empty
    for _ in range(LIMIT - 2):
        inner = [inner]
    assert parse_json_object(json.dumps({"x": inner}).encode(), LIMIT)
    assert _refusal(json.dumps({"x": [inner]})).issues[0].code == "too-costly"
