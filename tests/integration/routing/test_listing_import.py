"""The listing register import, on both backends: good rows, rejected rows with line
numbers, idempotent re-import, and no raw personnummer anywhere in the table."""

from __future__ import annotations

import datetime
import io

import pytest
from sqlalchemy import Engine, func, select, text

from gateway.routing import listing_register
from gateway.routing.listing_register import ListingFileError, import_listings
from gateway.routing.models import ListingEntry
from gateway.routing.person import ListingHasher, PersonId
from gateway.validation.identifiers import (
    SYSTEM_PERSONNUMMER,
    synthetic_personnummer,
    synthetic_samordningsnummer,
)

HEADER = "person_id,hsa_id,lanskod,listing_type,valid_from,valid_to,protected_identity\n"
P1 = synthetic_personnummer(datetime.date(1960, 2, 3), 111)
P2 = synthetic_personnummer(datetime.date(1988, 8, 8), 222)
S1 = synthetic_samordningsnummer(datetime.date(1992, 3, 4), 333)
HSA = "SE2321000057-VC1001"


def good_file() -> str:
    return (
        HEADER
        + f"{P1},{HSA},06,PV,2020-01-01,,0\n"
        + f"{P2},SE2321000016-VC4001,01,PV,2019-05-01,2030-12-31,1\n"
        + f"{S1},{HSA},06,pv,2021-01-01,,\n"
    )


def run(
    engine: Engine, hasher: ListingHasher, content: str, batch: int = 2
) -> listing_register.ImportReport:
    return import_listings(engine, io.BytesIO(content.encode()), hasher, batch_size=batch)


def test_good_rows_are_imported_and_found_by_hash(engine: Engine, hasher: ListingHasher) -> None:
    report = run(engine, hasher, good_file())
    assert (report.read, report.accepted, report.inserted, report.rejected) == (3, 3, 3, 0)
    with engine.connect() as connection:
        listings, protected = listing_register.lookup(
            connection, hasher.key_for(PersonId.parse(SYSTEM_PERSONNUMMER, P2))
        )
    assert [(x.hsa_id, x.lanskod, x.valid_to) for x in listings] == [
        ("SE2321000016-VC4001", "01", datetime.date(2030, 12, 31))
    ]
    assert protected is True
    with engine.connect() as connection:
        samordning, _ = listing_register.lookup(
            connection,
            hasher.key_for(PersonId.parse("urn:oid:1.2.752.129.2.1.3.3", S1)),
        )
    assert [x.listing_type for x in samordning] == ["PV"]


def test_no_raw_person_number_is_stored(engine: Engine, hasher: ListingHasher) -> None:
    run(engine, hasher, good_file())
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM listing_entry")).all()
    assert len(rows) == 3
    dump = repr(rows)
    for number in (P1, P2, S1):
        assert number not in dump
        assert number.encode().hex() not in dump
        # Nor the 10-digit form.
        assert number[2:] not in dump
    assert all(len(bytes(row.person_key)) == 32 for row in rows)


def test_re_import_is_idempotent_and_updates_changed_rows(
    engine: Engine, hasher: ListingHasher
) -> None:
    run(engine, hasher, good_file())
    again = run(engine, hasher, good_file())
    assert (again.accepted, again.inserted) == (3, 0)
    changed = good_file().replace(
        f"{P1},{HSA},06,PV,2020-01-01,,0", f"{P1},{HSA},06,PV,2020-01-01,2025-06-30,0"
    )
    third = run(engine, hasher, changed)
    assert third.inserted == 0
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(ListingEntry)).scalar_one() == 3
        valid_to = connection.execute(
            select(ListingEntry.valid_to).where(
                ListingEntry.person_key == hasher.key_for(PersonId.parse(SYSTEM_PERSONNUMMER, P1))
            )
        ).scalar_one()
    assert valid_to == datetime.date(2025, 6, 30)


def test_duplicate_rows_within_one_file_keep_the_last(
    engine: Engine, hasher: ListingHasher
) -> None:
    content = (
        HEADER + f"{P1},{HSA},06,PV,2020-01-01,,0\n" + f"{P1},{HSA},06,PV,2020-01-01,2024-01-01,0\n"
    )
    report = run(engine, hasher, content, batch=100)
    assert report.inserted == 1
    with engine.connect() as connection:
        assert connection.execute(select(ListingEntry.valid_to)).scalar_one() == datetime.date(
            2024, 1, 1
        )


def test_rejected_rows_are_reported_with_line_numbers_and_no_values(
    engine: Engine, hasher: ListingHasher
) -> None:
    bad_checksum = P1[:-1] + str((int(P1[-1]) + 1) % 10)
    content = (
        HEADER
        + f"{P1},{HSA},06,PV,2020-01-01,,0\n"  # line 2: good
        + f"{bad_checksum},{HSA},06,PV,2020-01-01,,0\n"  # 3
        + f"{P2},not-an-hsa-id,06,PV,2020-01-01,,0\n"  # 4
        + f"{P2},{HSA},99,PV,2020-01-01,,0\n"  # 5
        + f"{P2},{HSA},06,PV,2020-13-01,,0\n"  # 6
        + f"{P2},{HSA},06,PV,2020-02-01,2020-01-01,0\n"  # 7
        + f"{P2},{HSA},06\n"  # 8
        + f"{P2},{HSA},06,PV,2020-01-01,,kanske\n"  # 9
        + "\n"  # 10: blank, skipped
        + f"{P2},{HSA},06,PV,2020-01-01,,0\n"  # 11: good
    )
    report = run(engine, hasher, content)
    assert (report.read, report.accepted, report.rejected) == (9, 2, 7)
    assert [(r.line, r.code) for r in report.rejects] == [
        (3, "person-id"),
        (4, "hsa-id"),
        (5, "lanskod"),
        (6, "valid-from"),
        (7, "valid-to"),
        (8, "field-count"),
        (9, "protected-identity"),
    ]
    text_report = repr(report.rejects)
    for number in (P1, P2, bad_checksum):
        assert number not in text_report


def test_a_file_without_the_header_is_refused(engine: Engine, hasher: ListingHasher) -> None:
    with pytest.raises(ListingFileError):
        run(engine, hasher, f"{P1},{HSA},06,PV,2020-01-01,,0\n")
    with pytest.raises(ListingFileError):
        run(engine, hasher, "")


def test_columns_in_another_order_and_a_bom(engine: Engine, hasher: ListingHasher) -> None:
    content = (
        "\ufeffhsa_id,person_id,valid_from,valid_to,listing_type,lanskod\n"
        + f"{HSA},{P1},2020-01-01,,PV,06\n"
    )
    report = run(engine, hasher, content)
    assert (report.accepted, report.rejected) == (1, 0)


def test_a_different_key_cannot_find_the_rows(engine: Engine, hasher: ListingHasher) -> None:
    run(engine, hasher, good_file())
    other = ListingHasher(b"another-key-of-at-least-16-bytes")
    with engine.connect() as connection:
        found, _ = listing_register.lookup(
            connection, other.key_for(PersonId.parse(SYSTEM_PERSONNUMMER, P1))
        )
    assert found == []
