"""INDEX_FORMAT is raised whenever the same resource and parameter give other index rows.

A store's index marks (gateway.store.index_marks) tell a stale index from a current one
by INDEX_FORMAT and the declared parameters. A change to how rows are derived that left
INDEX_FORMAT alone would leave every store's old rows marked current. This test derives
the rows of parameters of its own, one of every kind and shape, from one resource, and
knows their digest for each format.
"""

from __future__ import annotations

import hashlib
from typing import Any

from gateway.search.index import INDEX_FORMAT, rows_for_parameter
from gateway.search.parameters import ParamType, SearchParameter

# The digest of the rows below under each INDEX_FORMAT (of the resource as it was then:
# the over-long identifier came with format 3). When this test fails after a deliberate
# change, raise INDEX_FORMAT and add the digest it prints.
ROWS_DIGEST = {
    1: "bd51a992782c5bbcadb6b83468b7c3157bab7e5b40434a1f1dc4a7ce81612510",
    2: "c783bcca5fc8f203877faa9789e3310769f21bf0c6f86ab2cb4da1ebb65d768d",
    3: "2505a487d645d2f06bb808312cb11406c9ab8af5a10869d1d240be97d1630963",
}

_EXT = "https://kv-gateway.se/fhir/StructureDefinition/kv-example"

_RESOURCE: dict[str, Any] = {
    "resourceType": "Task",
    "id": "t1",
    "identifier": [
        {"system": "urn:oid:1.2.752.129.2.1.3.1", "value": "191212121212"},
        {"value": "utan-system"},
        {"system": "https://example.org/" + "s" * 300, "value": "v" * 600},
    ],
    "status": "in-progress",
    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "371530004"}, {"code": "x"}]},
    "for": {"reference": "https://kv-gateway.se/fhir/Patient/p-1/_history/3"},
    "owner": {"reference": "Organization/vc-1"},
    "focus": {"identifier": {"value": "utan-referens"}},
    "instantiatesCanonical": "https://kv-gateway.se/fhir/Questionnaire/utlatande|1.0",
    "instantiatesUri": "urn:uuid:0a9b",
    "authoredOn": "2026-12-07T10:15:00+01:00",
    "lastModified": "2026-12",
    "executionPeriod": {"start": "2026-12-07"},
    "restriction": {"period": {"end": "2027-01-05T23:59:59Z"}},
    "note": [{"text": "  Årsrapport ÖVER   aktivitetsförmåga  "}, {"text": "x" * 600}],
    "extension": [
        {
            "url": _EXT,
            "extension": [{"url": "nivå", "valueCodeableConcept": {"coding": [{"code": "hög"}]}}],
        },
        {"url": _EXT, "extension": [{"url": "nivå", "valueBoolean": True}]},
    ],
}


def _param(name: str, type_: ParamType, expression: str, *, blind: bool = False) -> SearchParameter:
    return SearchParameter("Task", name, type_, expression, name, blind=blind)


_PARAMETERS = (
    _param("identifier", ParamType.TOKEN, "Task.identifier"),
    _param("blind-identifier", ParamType.TOKEN, "Task.identifier", blind=True),
    _param("status", ParamType.TOKEN, "Task.status"),
    _param("code", ParamType.TOKEN, "Task.code"),
    _param(
        "nested",
        ParamType.TOKEN,
        f"Task.extension.where(url='{_EXT}').extension.where(url='nivå').value",
    ),
    _param("subject", ParamType.REFERENCE, "Task.for"),
    _param("owner", ParamType.REFERENCE, "Task.owner | Task.focus"),
    _param("canonical", ParamType.REFERENCE, "Task.instantiatesCanonical"),
    _param("authored-on", ParamType.DATE, "Task.authoredOn"),
    _param("modified", ParamType.DATE, "Task.lastModified"),
    _param("period", ParamType.DATE, "Task.executionPeriod | Task.restriction.period"),
    _param("note", ParamType.STRING, "Task.note.text"),
    _param("uri", ParamType.URI, "Task.instantiatesUri"),
    _param("computed", ParamType.TOKEN, "Task.identifier.where(system.exists()).value"),
)


def _blind(value: str) -> str:
    return "bi:" + hashlib.sha256(b"test key" + value.encode()).hexdigest()


def _digest() -> str:
    rows = [row for p in _PARAMETERS for row in rows_for_parameter(p, _RESOURCE, _blind)]
    return hashlib.sha256("\n".join(map(repr, rows)).encode()).hexdigest()


def test_the_rows_are_those_of_the_index_format_in_force() -> None:
    digest = _digest()
    if INDEX_FORMAT not in ROWS_DIGEST:
        raise AssertionError(f"Record ROWS_DIGEST[{INDEX_FORMAT}] = {digest!r}")
    assert ROWS_DIGEST[INDEX_FORMAT] == digest, (
        f"The index rows changed: raise INDEX_FORMAT (gateway/search/index.py) and record "
        f"ROWS_DIGEST[{INDEX_FORMAT + 1}] = {digest!r}"
    )


def test_every_kind_of_parameter_gives_rows() -> None:
    """Each parameter above yields at least one row, so each shape counts in the digest."""
    for parameter in _PARAMETERS:
        assert rows_for_parameter(parameter, _RESOURCE, _blind), parameter.name
