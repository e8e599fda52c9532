"""Date ranges, search-value parsing and index extraction, without a database."""

from __future__ import annotations

from datetime import datetime

import pytest

from gateway.errors import FhirError
from gateway.search.dates import date_range, local_range
from gateway.search.index import index_rows, normalize_string, split_reference
from gateway.search.query import DateValue, ReferenceValue, TokenValue, parse_search


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026", datetime(2026, 1, 1), datetime(2027, 1, 1)),
        ("2026-02", datetime(2026, 2, 1), datetime(2026, 3, 1)),
        ("2026-12", datetime(2026, 12, 1), datetime(2027, 1, 1)),
        ("2026-02-28", datetime(2026, 2, 28), datetime(2026, 3, 1)),
        ("2026-02-28T10:00:00+01:00", datetime(2026, 2, 28, 9), datetime(2026, 2, 28, 9, 0, 1)),
        ("2026-02-28T10:00Z", datetime(2026, 2, 28, 10), datetime(2026, 2, 28, 10, 1)),
        ("2026-02-28T10:00+14:00", datetime(2026, 2, 27, 20), datetime(2026, 2, 27, 20, 1)),
        ("2026-02-28T10:00-13:59", datetime(2026, 2, 28, 23, 59), datetime(2026, 3, 1)),
        (
            "2026-02-28T10:00:00.5Z",
            datetime(2026, 2, 28, 10, 0, 0, 500000),
            datetime(2026, 2, 28, 10, 0, 0, 600000),
        ),
    ],
)
def test_date_ranges_follow_precision(text: str, start: datetime, end: datetime) -> None:
    assert date_range(text) == (start, end)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "26-01-01",
        "2026-13",
        "2026-02-30",
        "2026-01-01T25:00:00Z",
        "igår",
        # Offsets past -14:00..+14:00, or with more than 59 minutes.
        "2026-01-01T00:00:00+25:00",
        "2026-01-01T00:00:00-15:00",
        "2026-01-01T00:00:00+14:01",
        "2026-01-01T00:00:00+01:60",
        "2026-01-01T00:00+99:99",
    ],
)
def test_malformed_dates_are_none(text: str) -> None:
    assert date_range(text) is None


def test_a_leap_second_is_the_next_minutes_first_second() -> None:
    assert date_range("2016-12-31T23:59:60Z") == (
        datetime(2017, 1, 1, 0, 0, 0),
        datetime(2017, 1, 1, 0, 0, 1),
    )


def test_a_date_alone_is_a_day_in_sweden() -> None:
    # Winter (UTC+1) and summer (UTC+2) time; a time of day keeps its own zone.
    assert local_range("2026-01-15") == (datetime(2026, 1, 14, 23), datetime(2026, 1, 15, 23))
    assert local_range("2026-07-15") == (datetime(2026, 7, 14, 22), datetime(2026, 7, 15, 22))
    assert local_range("2026-07-15T10:00:00Z") == date_range("2026-07-15T10:00:00Z")
    assert local_range("0001-01-01") == date_range("0001-01-01")  # no earlier day to go to


def test_normalize_string_folds_case_accents_and_space() -> None:
    assert normalize_string("  Vårdcentralen   JÖNKÖPING ") == "vardcentralen jonkoping"


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("Patient/123", ("Patient", "123")),
        ("http://x.se/fhir/Patient/123/_history/2", ("Patient", "123")),
        ("#contained", (None, "#contained")),
        ("urn:uuid:abc", (None, "urn:uuid:abc")),
    ],
)
def test_split_reference(reference: str, expected: tuple[str | None, str]) -> None:
    assert split_reference(reference) == expected


def test_parse_search_values_and_controls() -> None:
    query = parse_search(
        "ServiceRequest",
        [
            ("identifier", "sys|A\\,B,plain"),
            ("subject", "Patient/p1"),
            ("authored", "ge2026-01-01"),
            ("_count", "5"),
            ("_offset", "10"),
            ("_sort", "-authored,_id"),
        ],
    )
    identifier, subject, authored = query.criteria
    assert identifier.values == (TokenValue("sys", "A,B"), TokenValue(None, "plain"))
    assert subject.values == (ReferenceValue("Patient", "p1"),)
    assert isinstance(authored.values[0], DateValue)
    assert authored.values[0].prefix == "ge"
    assert (query.count, query.offset) == (5, 10)
    assert [(k.name, k.descending) for k in query.sort] == [("authored", True), ("_id", False)]


def test_parse_search_collects_every_problem() -> None:
    with pytest.raises(FhirError) as caught:
        parse_search(
            "ServiceRequest", [("authored", "nope"), ("bogus", "1"), ("status:exact", "x")]
        )
    assert caught.value.status == 400
    assert len(caught.value.issues) == 3
    assert all(issue.text_sv for issue in caught.value.issues)


@pytest.mark.parametrize(
    ("key", "value"), [("_id:not", "x"), ("_id:exact", "x"), ("_lastUpdated:not", "2026-01-01")]
)
def test_a_modifier_on_id_or_last_updated_is_refused_not_dropped(key: str, value: str) -> None:
    # Dropped, `_id:not=x` would find x itself.
    with pytest.raises(FhirError) as caught:
        parse_search("Task", [(key, value)])
    assert caught.value.status == 400


def test_index_rows_cover_token_reference_date_and_string() -> None:
    rows = index_rows(
        blind=lambda value: f"blind({value})",
        resource={
            "resourceType": "Organization",
            "identifier": [{"system": "urn:oid:1.2.752.29.4.19", "value": "SE2321000016-VC1"}],
            "name": "Vårdcentralen Söder",
            "partOf": {"reference": "Organization/region-01"},
            "active": True,
        },
    )
    as_tuples = {(r.param, r.system, r.value) for r in rows}
    assert ("identifier", "urn:oid:1.2.752.29.4.19", "SE2321000016-VC1") in as_tuples
    assert ("name", None, "vardcentralen soder") in as_tuples
    assert ("partof", "Organization", "region-01") in as_tuples
    assert ("active", None, "true") in as_tuples
    period = index_rows({"resourceType": "Communication", "sent": "2026-03-01"}, blind=str.upper)
    assert [(r.date_start, r.date_end) for r in period] == [
        (datetime(2026, 3, 1), datetime(2026, 3, 2))
    ]


def test_personal_identifiers_are_indexed_only_as_blind_values() -> None:
    rows = index_rows(
        {"resourceType": "Patient", "identifier": [{"system": "pnr", "value": "191212121212"}]},
        blind=lambda value: f"blind({value})",
    )
    assert [(r.param, r.system, r.value) for r in rows] == [
        ("identifier", "pnr", "blind(191212121212)")
    ]
