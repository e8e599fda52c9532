"""The listing import on both backends, where it used to go wrong: a file that says nothing
about protected identity must not take it away, and a broken line (a stray quote, an
overlong cell) is rejected alone. An import that stops midway says how far it got, and
running it again finishes it."""

from __future__ import annotations

import datetime
import io

import pytest
from sqlalchemy import Engine, select

from gateway.routing import listing_register
from gateway.routing.listing_register import ListingImportError, import_listings
from gateway.routing.models import ListingEntry
from gateway.routing.person import ListingHasher, PersonId
from gateway.validation.identifiers import SYSTEM_PERSONNUMMER, synthetic_personnummer

COLUMNS = "person_id,hsa_id,lanskod,listing_type,valid_from,valid_to"
HEADER = COLUMNS + ",protected_identity\n"
P1 = synthetic_personnummer(datetime.date(1961, 4, 5), 121)
P2 = synthetic_personnummer(datetime.date(1979, 9, 9), 232)
P3 = synthetic_personnummer(datetime.date(1990, 1, 2), 343)
HSA = "SE2321000057-VC1001"


def run(
    engine: Engine, hasher: ListingHasher, content: str, batch: int = 2
) -> listing_register.ImportReport:
    return import_listings(engine, io.BytesIO(content.encode()), hasher, batch_size=batch)


def stored(engine: Engine, hasher: ListingHasher, number: str) -> list[tuple[object, ...]]:
    """(valid_to, protected_identity) of each row of one person."""
    key = hasher.key_for(PersonId.parse(SYSTEM_PERSONNUMMER, number))
    with engine.connect() as connection:
        rows = connection.execute(
            select(ListingEntry.valid_to, ListingEntry.protected_identity)
            .where(ListingEntry.person_key == key)
            .order_by(ListingEntry.valid_from)
        ).all()
    return [tuple(row) for row in rows]


def many(count: int) -> list[str]:
    """``count`` good rows of distinct persons (no flag column)."""
    start = datetime.date(1950, 1, 1)
    return [
        f"{synthetic_personnummer(start + datetime.timedelta(days=i), 456)},{HSA},06,PV,2020-01-01,"
        for i in range(count)
    ]


# ----- protected identity -----------------------------------------------------------------


def test_a_file_without_the_column_keeps_the_stored_protection(
    engine: Engine, hasher: ListingHasher
) -> None:
    run(
        engine, hasher, HEADER + f"{P1},{HSA},06,PV,2020-01-01,,1\n{P2},{HSA},06,PV,2020-01-01,,0\n"
    )
    report = run(
        engine,
        hasher,
        COLUMNS + "\n"
        f"{P1},{HSA},06,PV,2020-01-01,2030-01-01\n"  # known, protected: the end date changes
        f"{P2},{HSA},06,PV,2020-01-01,\n"  # known, unprotected
        f"{P3},{HSA},06,PV,2020-01-01,\n",  # new
    )
    assert (report.accepted, report.inserted, report.lost_protection) == (3, 1, 0)
    assert stored(engine, hasher, P1) == [(datetime.date(2030, 1, 1), True)]
    assert stored(engine, hasher, P2) == [(None, False)]
    assert stored(engine, hasher, P3) == [(None, False)]
    with engine.connect() as connection:
        _, protected = listing_register.lookup(
            connection, hasher.key_for(PersonId.parse(SYSTEM_PERSONNUMMER, P1))
        )
    assert protected is True


def test_an_empty_cell_says_nothing_either(engine: Engine, hasher: ListingHasher) -> None:
    run(engine, hasher, HEADER + f"{P1},{HSA},06,PV,2020-01-01,,1\n")
    report = run(engine, hasher, HEADER + f"{P1},{HSA},06,PV,2020-01-01,, \n")
    assert report.lost_protection == 0
    assert stored(engine, hasher, P1) == [(None, True)]


def test_an_explicit_zero_lowers_protection_and_is_counted(
    engine: Engine, hasher: ListingHasher
) -> None:
    run(
        engine,
        hasher,
        HEADER
        + f"{P1},{HSA},06,PV,2020-01-01,,1\n"
        + f"{P2},{HSA},06,PV,2020-01-01,,0\n"
        + f"{P3},{HSA},06,PV,2020-01-01,,ja\n",
    )
    lowered = HEADER + (
        f"{P1},{HSA},06,PV,2020-01-01,,0\n"  # 1 -> 0: counted
        f"{P2},{HSA},06,PV,2020-01-01,,false\n"  # 0 -> 0: not counted
        f"{P3},{HSA},06,PV,2020-01-01,,1\n"  # stays 1
    )
    report = run(engine, hasher, lowered)
    assert report.lost_protection == 1
    assert [stored(engine, hasher, p)[0][1] for p in (P1, P2, P3)] == [False, False, True]
    assert run(engine, hasher, lowered).lost_protection == 0


def test_a_later_row_that_says_nothing_keeps_the_flag_an_earlier_row_stated(
    engine: Engine, hasher: ListingHasher
) -> None:
    content = (
        HEADER
        + f"{P1},{HSA},06,PV,2020-01-01,,1\n"
        + f"{P1},{HSA},06,PV,2020-01-01,2024-01-01,\n"  # same row, later: flag not stated
    )
    report = run(engine, hasher, content, batch=100)  # both rows in one batch
    assert (report.accepted, report.inserted) == (2, 1)
    assert stored(engine, hasher, P1) == [(datetime.date(2024, 1, 1), True)]


# ----- broken lines ---------------------------------------------------------------------


def test_a_stray_quote_rejects_its_line_alone(engine: Engine, hasher: ListingHasher) -> None:
    rows = many(3000)  # the rest of the file after the quote is over the csv field limit
    rows[1000] = rows[1000].replace(",06,", ',"06,')  # line 1002
    report = run(engine, hasher, COLUMNS + "\n" + "\n".join(rows) + "\n", batch=500)
    assert (report.read, report.accepted, report.rejected) == (3000, 2999, 1)
    assert [(r.line, r.code) for r in report.rejects] == [(1002, "csv-syntax")]
    assert listing_register.count_entries(engine) == 2999


def test_two_stray_quotes_do_not_swallow_the_lines_between_them(
    engine: Engine, hasher: ListingHasher
) -> None:
    rows = many(6)
    rows[1] = rows[1].replace(",06,", ',"06,')  # line 3
    rows[4] = rows[4].replace(",06,", ',06",')  # line 6: closed the old reader's field
    report = run(engine, hasher, COLUMNS + "\n" + "\n".join(rows) + "\n")
    assert (report.read, report.accepted) == (6, 4)
    assert [(r.line, r.code) for r in report.rejects] == [(3, "csv-syntax"), (6, "lanskod")]
    # A properly quoted line is read as before.
    quoted = ",".join(f'"{cell}"' for cell in f"{P1},{HSA},06,PV,2020-01-01,".split(","))
    assert run(engine, hasher, COLUMNS + "\n" + quoted + "\n").accepted == 1


@pytest.mark.parametrize("quoted", [False, True])
def test_a_cell_over_the_size_limit_rejects_its_line_alone(
    engine: Engine, hasher: ListingHasher, quoted: bool
) -> None:
    huge = "x" * 200_000
    cell = f'"{huge}"' if quoted else huge
    rows = many(3)
    rows[1] = rows[1].replace(f",{HSA},", f",{cell},")  # line 3
    report = run(engine, hasher, COLUMNS + "\n" + "\n".join(rows) + "\n")
    assert (report.read, report.accepted) == (3, 2)
    assert [(r.line, r.code) for r in report.rejects] == [(3, "line-too-long")]
    assert huge not in repr(report.rejects)


def test_an_overlong_header_is_a_file_error(engine: Engine, hasher: ListingHasher) -> None:
    with pytest.raises(listing_register.ListingFileError, match="header"):
        run(engine, hasher, COLUMNS + "," + "x" * 100_000 + "\n" + many(1)[0] + "\n")


# ----- an import that stops midway -------------------------------------------------------


class FailingStream(io.BytesIO):
    """A file whose read fails after ``lines`` lines (a network share going away)."""

    def __init__(self, content: bytes, lines: int) -> None:
        super().__init__(content)
        self.left = lines

    def readline(self, size: int | None = -1) -> bytes:
        if self.left == 0:
            raise OSError("Input/output error")
        self.left -= 1
        return super().readline(size)


def test_an_import_that_stops_midway_says_how_far_it_got_and_a_rerun_finishes_it(
    engine: Engine, hasher: ListingHasher
) -> None:
    rows = many(250)
    flagged = [rows[0] + ",1"] + [row + "," for row in rows[1:]]  # one protected row
    content = HEADER + "\n".join(flagged) + "\n"
    with pytest.raises(ListingImportError) as stopped:
        import_listings(engine, FailingStream(content.encode(), 1 + 230), hasher, batch_size=100)
    report = stopped.value.report
    assert (report.committed, report.committed_through, report.line) == (200, 201, 231)
    message = str(stopped.value)
    assert "\n" not in message
    assert "after reading line 231" in message
    assert "lines up to 201 are committed (200 accepted rows)" in message
    assert "OSError: Input/output error" in message
    assert listing_register.count_entries(engine) == 200

    rerun = run(engine, hasher, content, batch=100)
    assert (rerun.accepted, rerun.inserted, rerun.lost_protection) == (250, 50, 0)
    with engine.connect() as connection:
        flags = connection.execute(select(ListingEntry.protected_identity)).scalars().all()
    assert (len(flags), sum(flags)) == (250, 1)
    again = run(engine, hasher, content, batch=100)
    assert (again.inserted, listing_register.count_entries(engine)) == (0, 250)
