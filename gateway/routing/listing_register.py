"""The local listing register: CSV import (streamed, idempotent) and lookup by keyed hash.

CSV format (UTF-8, optional BOM, comma separated, one header row, columns in any order)::

    person_id,hsa_id,lanskod,listing_type,valid_from,valid_to,protected_identity
    198503142387,SE2321000057-VC1001,06,PV,2024-01-01,,0

- ``person_id``: personnummer or samordningsnummer, 12 digits (the kind is told by the
  day of month: 61–91 is a samordningsnummer). Checked like every personnummer.
- ``hsa_id``: the care unit's HSA-id. ``lanskod``: the region holding the listing.
- ``listing_type``: e.g. ``PV`` (primary care). ``valid_from``: ``YYYY-MM-DD``;
  ``valid_to``: ``YYYY-MM-DD`` or empty (open). ``protected_identity`` (optional column):
  ``1``/``true`` for skyddad folkbokföring or sekretessmarkering, ``0``/``false`` for
  none. A file without the column, or an empty cell, says nothing about protection: a
  known row keeps its flag and a new row is unprotected. Only an explicit ``0`` lowers
  a stored ``1``, and the report counts such rows (``lost_protection``).

The natural key is (person, HSA-id, listing type, valid from): importing the same file
again changes nothing, and a corrected ``valid_to`` or ``protected_identity`` updates the
row. Rows are hashed as they are read: the personnummer never reaches the database.
A row that fails its checks is rejected with its line number and a reason that never
repeats the row's values. No field of the format may hold a line break, so every physical
line is one row: a stray quote or an overlong line rejects that line alone. PostgreSQL
loads each batch with COPY into a temporary staging table and merges it with INSERT … ON
CONFLICT; SQLite uses batched executemany upserts. Each batch commits on its own; an import
that stops midway (I/O or database error) raises :class:`ListingImportError`, which tells
how far it got, and importing the whole file again is safe.
"""

from __future__ import annotations

import csv
import datetime
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import IO, Any

from sqlalchemy import Connection, Engine, bindparam, func, insert, select
from sqlalchemy.exc import SQLAlchemyError

from gateway.routing.listing_sources import Listing
from gateway.routing.models import ListingEntry
from gateway.routing.person import ListingHasher
from gateway.routing.reference_data import regions
from gateway.validation.identifiers import (
    SYSTEM_PERSONNUMMER,
    SYSTEM_SAMORDNINGSNUMMER,
    check_hsa_id,
    check_personnummer,
    check_samordningsnummer,
    is_samordningsnummer,
)

REQUIRED_COLUMNS = ("person_id", "hsa_id", "lanskod", "listing_type", "valid_from", "valid_to")
OPTIONAL_COLUMNS = ("protected_identity",)
SOURCE_NAME = "local"
DEFAULT_BATCH = 50_000
# A row is under 100 bytes; a longer line is refused without being held in memory whole
# (and stays below the csv module's field size limit, 128 KiB).
MAX_LINE_BYTES = 65_536
_LISTING_TYPE = re.compile(r"[A-Za-z0-9_-]{1,16}")
_TRUE = {"1", "true", "ja", "yes", "j", "y"}
_FALSE = {"0", "false", "nej", "no", "n"}


class ListingFileError(ValueError):
    """The file as a whole cannot be imported (no or wrong header)."""


class ListingImportError(Exception):
    """The import stopped midway (I/O or database error). The batches before it are
    committed (``report.committed`` rows, up to line ``report.committed_through``); the
    import is idempotent, so running it again with the whole file is safe."""

    def __init__(self, report: ImportReport, cause: BaseException) -> None:
        self.report = report
        first = (str(cause).splitlines() or [""])[0].strip()
        self.cause = f"{type(cause).__name__}: {first}" if first else type(cause).__name__
        if report.committed:
            applied = (
                f"lines up to {report.committed_through} are committed "
                f"({report.committed} accepted rows)"
            )
        else:
            applied = "nothing is committed"
        super().__init__(
            f"the listing import stopped ({self.cause}) after reading line {report.line}; "
            f"{applied}. The import is idempotent: fix the cause and import the whole file "
            "again"
        )


@dataclass(frozen=True)
class Rejected:
    line: int
    code: str
    reason: str


@dataclass
class ImportReport:
    read: int = 0
    accepted: int = 0
    inserted: int = 0
    rejected: int = 0
    # Rows whose stored protected_identity 1 an explicit 0 in the file lowered.
    lost_protection: int = 0
    # The last line read, and how far the committed batches reach (for an import that stops).
    line: int = 0
    committed: int = 0
    committed_through: int = 0
    rejects: list[Rejected] = field(default_factory=list)
    max_rejects_kept: int = 1000

    def reject(self, line: int, code: str, reason: str) -> None:
        self.rejected += 1
        if len(self.rejects) < self.max_rejects_kept:
            self.rejects.append(Rejected(line, code, reason))

    @property
    def updated_or_unchanged(self) -> int:
        return self.accepted - self.inserted


# (person_key, hsa_id, lanskod, listing_type, valid_from, valid_to, protected); protected
# is None when the file says nothing (no column, or an empty cell): the stored flag stays.
Row = tuple[bytes, str, str, str, datetime.date, datetime.date | None, bool | None]


def _date(text: str) -> datetime.date | None:
    if len(text) != 10:
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None


class RowParser:
    """Turns one CSV row into a hashed register row, or a rejection reason."""

    def __init__(self, header: list[str], hasher: ListingHasher) -> None:
        names = [h.strip().lower() for h in header]
        missing = [c for c in REQUIRED_COLUMNS if c not in names]
        if missing:
            raise ListingFileError(
                f"the header lacks the column(s) {', '.join(missing)}; expected "
                f"{','.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}"
            )
        self.width = len(names)
        self.index = {name: names.index(name) for name in REQUIRED_COLUMNS}
        self.protected_at = (
            names.index("protected_identity") if "protected_identity" in names else None
        )
        self.hasher = hasher
        self.lanskoder = frozenset(regions())
        self.today = datetime.date.today()

    def parse(self, fields: list[str]) -> Row | tuple[str, str]:
        if len(fields) != self.width:
            return ("field-count", f"expected {self.width} fields, got {len(fields)}")
        i = self.index
        person = fields[i["person_id"]].strip()
        if is_samordningsnummer(person):
            system = SYSTEM_SAMORDNINGSNUMMER
            problem = check_samordningsnummer(person, today=self.today)
        else:
            system = SYSTEM_PERSONNUMMER
            problem = check_personnummer(person, today=self.today)
        if problem is not None:
            return ("person-id", f"person_id is not a valid person number ({problem.code})")
        hsa_id = fields[i["hsa_id"]].strip()
        if check_hsa_id(hsa_id) is not None:
            return ("hsa-id", "hsa_id is not a valid HSA-id")
        lanskod = fields[i["lanskod"]].strip()
        if lanskod not in self.lanskoder:
            return ("lanskod", "lanskod is not one of the 21 länskoder")
        listing_type = fields[i["listing_type"]].strip()
        if not _LISTING_TYPE.fullmatch(listing_type):
            return ("listing-type", "listing_type must be 1-16 letters or digits")
        valid_from = _date(fields[i["valid_from"]].strip())
        if valid_from is None:
            return ("valid-from", "valid_from must be a date YYYY-MM-DD")
        raw_to = fields[i["valid_to"]].strip()
        valid_to = _date(raw_to) if raw_to else None
        if raw_to and valid_to is None:
            return ("valid-to", "valid_to must be a date YYYY-MM-DD or empty")
        if valid_to is not None and valid_to < valid_from:
            return ("valid-to", "valid_to is before valid_from")
        protected: bool | None = None
        if self.protected_at is not None:
            flag = fields[self.protected_at].strip().lower()
            if flag in _TRUE:
                protected = True
            elif flag in _FALSE:
                protected = False
            elif flag:
                return ("protected-identity", "protected_identity must be 0/1, true/false")
        key = self.hasher.raw(system, person)
        return (key, hsa_id, lanskod, listing_type.upper(), valid_from, valid_to, protected)


def _lines(stream: IO[bytes], progress: Callable[[int], None] | None) -> Iterator[str | None]:
    """The file's physical lines, decoded; None for a line over MAX_LINE_BYTES, which is
    read past in chunks and never held whole."""
    chunks: Iterator[bytes]
    if hasattr(stream, "readline"):
        chunks = iter(partial(stream.readline, MAX_LINE_BYTES + 1), b"")
    else:  # a plain iterable of lines (the benchmarks' generated files)
        chunks = iter(stream)
    first = True
    pending = 0
    for raw in chunks:
        pending += len(raw)
        too_long = len(raw) > MAX_LINE_BYTES
        while too_long and not raw.endswith(b"\n"):
            raw = next(chunks, b"")
            if not raw:
                break
            pending += len(raw)
        if progress is not None and pending >= 1 << 20:
            progress(pending)
            pending = 0
        if first:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
            first = False
        yield None if too_long else raw.decode("utf-8", errors="replace")
    if progress is not None and pending:
        progress(pending)


def _fields(line: str) -> list[str] | None:
    """One line's fields; None if its quoting is broken. No field of a listing file holds
    a line break, so a quote left open at the end of the line is an error, not a field
    that goes on: it must not swallow the lines after it."""
    if '"' not in line:
        return line.rstrip("\r\n").split(",")
    try:
        return next(csv.reader([line], strict=True), [])
    except csv.Error:
        return None


def parse_rows(
    stream: IO[bytes],
    hasher: ListingHasher,
    report: ImportReport,
    progress: Callable[[int], None] | None = None,
) -> Iterator[Row]:
    """The accepted rows of a listing CSV, hashed; rejections go into ``report``. The
    header is read at once, so a bad one raises ListingFileError before anything runs."""
    lines = _lines(stream, progress)
    first = next(lines, "")
    if first == "":
        raise ListingFileError("the file is empty (no header row)")
    if first is None:
        raise ListingFileError(f"the header row is longer than {MAX_LINE_BYTES} bytes")
    header = _fields(first)
    if header is None:
        raise ListingFileError("the header row is not valid CSV (an unbalanced quote)")
    report.line = 1
    return _parsed(lines, RowParser(header, hasher), report)


def _parsed(lines: Iterator[str | None], parser: RowParser, report: ImportReport) -> Iterator[Row]:
    for number, line in enumerate(lines, start=2):
        report.line = number
        if line is None:
            report.read += 1
            report.reject(number, "line-too-long", f"the line is over {MAX_LINE_BYTES} bytes")
            continue
        fields = _fields(line)
        if fields is None:
            report.read += 1
            report.reject(number, "csv-syntax", "the line is not valid CSV (an unbalanced quote)")
            continue
        if not fields or fields == [""]:
            continue
        report.read += 1
        parsed = parser.parse(fields)
        if len(parsed) == 2:
            code, reason = parsed
            report.reject(number, code, reason)
            continue
        report.accepted += 1
        yield parsed


def _batches(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _merged(batch: list[Row]) -> list[Row]:
    """One row per natural key: the last one, with the last flag the file stated for it
    (a later row that says nothing does not take back an earlier 1)."""
    merged: dict[tuple[bytes, str, str, datetime.date], Row] = {}
    for row in batch:
        natural = (row[0], row[1], row[3], row[4])
        earlier = merged.get(natural)
        if earlier is not None and row[6] is None:
            row = (*row[:6], earlier[6])
        merged[natural] = row
    return list(merged.values())


def _committed(report: ImportReport, rows: int, through: int) -> None:
    report.committed += rows
    report.committed_through = through


def count_entries(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(ListingEntry)).scalar_one())


def import_listings(
    engine: Engine,
    stream: IO[bytes],
    hasher: ListingHasher,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[int], None] | None = None,
    max_rejects_kept: int = 1000,
) -> ImportReport:
    """Stream a listing CSV into the register. Each batch commits on its own: an import
    that stops halfway raises ListingImportError (how far it got) and can simply be run
    again (the import is idempotent). A bad header raises ListingFileError."""
    report = ImportReport(max_rejects_kept=max_rejects_kept)
    rows = parse_rows(stream, hasher, report, progress)
    dbapi_error: Any = getattr(engine.dialect.loaded_dbapi, "Error", SQLAlchemyError)
    try:
        if engine.dialect.name == "postgresql":
            report.inserted = _import_postgresql(engine, rows, batch_size, report)
        else:
            before = count_entries(engine)
            _import_generic(engine, rows, batch_size, report)
            report.inserted = count_entries(engine) - before
    except (OSError, SQLAlchemyError, dbapi_error) as error:
        raise ListingImportError(report, error) from error
    return report


_STAGING = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS listing_staging ("
    " seq bigint, person_key bytea, hsa_id text, lanskod text, listing_type text,"
    " valid_from date, valid_to date, protected_identity boolean)"
)
# Rows of the batch (merged per natural key in Python, see _merged) come in two kinds:
# those whose flag the file states, merged with the flag in the SET, and those whose flag
# it does not state (NULL in staging), merged without it, so the stored flag stays and a
# new row is unprotected. Each is one statement, so the stored flag is never read and
# written back (no race with another writer).
_MERGE_STATED = """
WITH merged AS (
    INSERT INTO listing_entry
        (person_key, hsa_id, lanskod, listing_type, valid_from, valid_to, protected_identity)
    SELECT DISTINCT ON (person_key, hsa_id, listing_type, valid_from)
        person_key, hsa_id, lanskod, listing_type, valid_from, valid_to, protected_identity
    FROM listing_staging
    WHERE protected_identity IS NOT NULL
    ORDER BY person_key, hsa_id, listing_type, valid_from, seq DESC
    ON CONFLICT ON CONSTRAINT uq_listing_entry_natural_key DO UPDATE SET
        lanskod = EXCLUDED.lanskod,
        valid_to = EXCLUDED.valid_to,
        protected_identity = EXCLUDED.protected_identity
    WHERE (listing_entry.lanskod, listing_entry.valid_to, listing_entry.protected_identity)
        IS DISTINCT FROM (EXCLUDED.lanskod, EXCLUDED.valid_to, EXCLUDED.protected_identity)
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) FROM merged
"""
_MERGE_UNSTATED = """
WITH merged AS (
    INSERT INTO listing_entry
        (person_key, hsa_id, lanskod, listing_type, valid_from, valid_to, protected_identity)
    SELECT DISTINCT ON (person_key, hsa_id, listing_type, valid_from)
        person_key, hsa_id, lanskod, listing_type, valid_from, valid_to, false
    FROM listing_staging
    WHERE protected_identity IS NULL
    ORDER BY person_key, hsa_id, listing_type, valid_from, seq DESC
    ON CONFLICT ON CONSTRAINT uq_listing_entry_natural_key DO UPDATE SET
        lanskod = EXCLUDED.lanskod,
        valid_to = EXCLUDED.valid_to
    WHERE (listing_entry.lanskod, listing_entry.valid_to)
        IS DISTINCT FROM (EXCLUDED.lanskod, EXCLUDED.valid_to)
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) FROM merged
"""
# Before the merge: the rows an explicit 0 is about to take protection from. A scalar
# subquery is not flattened into a join, so this is one index probe per row (the probe
# the merge makes next anyway), never a scan of the register.
_LOSING_PROTECTION = """
SELECT count(*) FROM listing_staging s
WHERE s.protected_identity = false AND (
    SELECT e.protected_identity FROM listing_entry e
    WHERE e.person_key = s.person_key AND e.hsa_id = s.hsa_id
      AND e.listing_type = s.listing_type AND e.valid_from = s.valid_from)
"""


def _copy_text(seq: int, row: Row) -> str:
    key, hsa_id, lanskod, listing_type, valid_from, valid_to, protected = row
    # Every text field was checked against a strict pattern: no tab, newline or backslash.
    to = valid_to.isoformat() if valid_to else "\\N"
    flag = "\\N" if protected is None else "t" if protected else "f"
    return (
        f"{seq}\t\\\\x{key.hex()}\t{hsa_id}\t{lanskod}\t{listing_type}\t"
        f"{valid_from.isoformat()}\t{to}\t{flag}\n"
    )


def _import_postgresql(
    engine: Engine, rows: Iterable[Row], batch_size: int, report: ImportReport
) -> int:
    inserted = 0
    raw = engine.raw_connection()
    try:
        connection: Any = raw.driver_connection
        connection.autocommit = False
        seq = 0
        with connection.cursor() as cursor:
            cursor.execute(_STAGING)
            cursor.execute("TRUNCATE listing_staging")
            connection.commit()
            for batch in _batches(rows, batch_size):
                through = report.line
                merged = _merged(batch)
                with cursor.copy(
                    "COPY listing_staging (seq, person_key, hsa_id, lanskod, listing_type,"
                    " valid_from, valid_to, protected_identity) FROM STDIN"
                ) as copy:
                    chunk: list[str] = []
                    for row in merged:
                        seq += 1
                        chunk.append(_copy_text(seq, row))
                        if len(chunk) >= 5000:
                            copy.write("".join(chunk))
                            chunk = []
                    if chunk:
                        copy.write("".join(chunk))
                lost = 0
                if any(row[6] is False for row in merged):
                    cursor.execute(_LOSING_PROTECTION)
                    found = cursor.fetchone()
                    lost = int(found[0]) if found else 0
                for merge, wanted in ((_MERGE_STATED, True), (_MERGE_UNSTATED, False)):
                    if any((row[6] is not None) is wanted for row in merged):
                        cursor.execute(merge)
                        found = cursor.fetchone()
                        inserted += int(found[0]) if found else 0
                cursor.execute("TRUNCATE listing_staging")
                connection.commit()
                report.lost_protection += lost
                _committed(report, len(batch), through)
            cursor.execute("DROP TABLE IF EXISTS listing_staging")
            connection.commit()
    except BaseException:
        raw.invalidate()  # never hand a half-done session back to the pool
        raise
    finally:
        raw.close()
    return inserted


# A flag the file does not state (NULL) leaves the stored one alone; a new row is unprotected.
_UPSERT_GENERIC = (
    "INSERT INTO listing_entry (person_key, hsa_id, lanskod, listing_type, valid_from,"
    " valid_to, protected_identity) VALUES (:k, :h, :lk, :t, :f, :to, coalesce(:p, 0))"
    " ON CONFLICT (person_key, hsa_id, listing_type, valid_from) DO UPDATE SET"
    " lanskod = excluded.lanskod, valid_to = excluded.valid_to,"
    " protected_identity = coalesce(:p, listing_entry.protected_identity)"
)
_PROBE_CHUNK = 500


def _losing_protection(connection: Connection, rows: list[Row]) -> int:
    """How many of ``rows`` (merged per natural key) put an explicit 0 over a stored 1."""
    lowering = {(r[0], r[1], r[3], r[4]) for r in rows if r[6] is False}
    keys = sorted({natural[0] for natural in lowering})
    lost = 0
    for start in range(0, len(keys), _PROBE_CHUNK):
        found = connection.execute(
            select(
                ListingEntry.person_key,
                ListingEntry.hsa_id,
                ListingEntry.listing_type,
                ListingEntry.valid_from,
            ).where(
                ListingEntry.protected_identity,
                ListingEntry.person_key.in_(keys[start : start + _PROBE_CHUNK]),
            )
        ).all()
        lost += sum((bytes(k), h, t, f) in lowering for k, h, t, f in found)
    return lost


def _import_generic(
    engine: Engine, rows: Iterable[Row], batch_size: int, report: ImportReport
) -> None:
    for batch in _batches(rows, min(batch_size, 10_000)):
        through = report.line
        merged = _merged(batch)
        params = [
            {
                "k": k,
                "h": h,
                "lk": lk,
                "t": t,
                "f": f.isoformat(),
                "to": to.isoformat() if to else None,
                "p": None if p is None else int(p),
            }
            for k, h, lk, t, f, to, p in merged
        ]
        with engine.begin() as connection:
            lost = _losing_protection(connection, merged)
            connection.exec_driver_sql(_UPSERT_GENERIC, params)
        report.lost_protection += lost
        _committed(report, len(batch), through)


# ----- lookup -----------------------------------------------------------------------------


# Built once: every submission's routing runs it.
_LOOKUP = select(
    ListingEntry.hsa_id,
    ListingEntry.lanskod,
    ListingEntry.listing_type,
    ListingEntry.valid_from,
    ListingEntry.valid_to,
    ListingEntry.protected_identity,
).where(ListingEntry.person_key == bindparam("person_key"))


def lookup(connection: Connection, person_key: bytes) -> tuple[list[Listing], bool]:
    """Every listing row of one person, and whether any row flags protected identity."""
    rows = connection.execute(_LOOKUP, {"person_key": person_key}).all()
    listings = [
        Listing(
            hsa_id=row.hsa_id,
            listing_type=row.listing_type,
            valid_from=row.valid_from,
            valid_to=row.valid_to,
            source=SOURCE_NAME,
            lanskod=row.lanskod,
        )
        for row in rows
    ]
    return listings, any(row.protected_identity for row in rows)


def add_listing(
    connection: Connection,
    person_key: bytes,
    hsa_id: str,
    lanskod: str,
    *,
    listing_type: str = "PV",
    valid_from: datetime.date,
    valid_to: datetime.date | None = None,
    protected_identity: bool = False,
) -> bool:
    """Add one row unless it is already there (for seeds and tests). True if added."""
    exists = connection.execute(
        select(ListingEntry.row_id).where(
            ListingEntry.person_key == person_key,
            ListingEntry.hsa_id == hsa_id,
            ListingEntry.listing_type == listing_type,
            ListingEntry.valid_from == valid_from,
        )
    ).first()
    if exists is not None:
        return False
    connection.execute(
        insert(ListingEntry).values(
            person_key=person_key,
            hsa_id=hsa_id,
            lanskod=lanskod,
            listing_type=listing_type,
            valid_from=valid_from,
            valid_to=valid_to,
            protected_identity=protected_identity,
        )
    )
    return True
