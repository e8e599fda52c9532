"""The local listing register: CSV import (streamed, idempotent) and lookup by keyed hash.

CSV format (UTF-8, optional BOM, comma separated, one header row, columns in any order)::

    person_id,hsa_id,lanskod,listing_type,valid_from,valid_to,protected_identity
    198503142387,SE2321000057-VC1001,06,PV,2024-01-01,,0

- ``person_id``: personnummer or samordningsnummer, 12 digits (the kind is told by the
  day of month: 61–91 is a samordningsnummer). Checked like every personnummer.
- ``hsa_id``: the care unit's HSA-id. ``lanskod``: the region holding the listing.
- ``listing_type``: e.g. ``PV`` (primary care). ``valid_from``: ``YYYY-MM-DD``;
  ``valid_to``: ``YYYY-MM-DD`` or empty (open). ``protected_identity`` (optional column):
  ``1``/``true`` for skyddad folkbokföring or sekretessmarkering, else ``0``/empty.

The natural key is (person, HSA-id, listing type, valid from): importing the same file
again changes nothing, and a corrected ``valid_to`` or ``protected_identity`` updates the
row. Rows are hashed as they are read: the personnummer never reaches the database.
A row that fails its checks is rejected with its line number and a reason that never
repeats the row's values. PostgreSQL loads each batch with COPY into a temporary staging
table and merges it with INSERT … ON CONFLICT; SQLite uses batched executemany upserts.
"""

from __future__ import annotations

import csv
import datetime
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from sqlalchemy import Connection, Engine, bindparam, func, insert, select

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
_LISTING_TYPE = re.compile(r"[A-Za-z0-9_-]{1,16}")
_TRUE = {"1", "true", "ja", "yes", "j", "y"}
_FALSE = {"", "0", "false", "nej", "no", "n"}


class ListingFileError(ValueError):
    """The file as a whole cannot be imported (no or wrong header)."""


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
    rejects: list[Rejected] = field(default_factory=list)
    max_rejects_kept: int = 1000

    def reject(self, line: int, code: str, reason: str) -> None:
        self.rejected += 1
        if len(self.rejects) < self.max_rejects_kept:
            self.rejects.append(Rejected(line, code, reason))

    @property
    def updated_or_unchanged(self) -> int:
        return self.accepted - self.inserted


# (person_key, hsa_id, lanskod, listing_type, valid_from, valid_to, protected)
Row = tuple[bytes, str, str, str, datetime.date, datetime.date | None, bool]


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
        protected = False
        if self.protected_at is not None:
            flag = fields[self.protected_at].strip().lower()
            if flag in _TRUE:
                protected = True
            elif flag not in _FALSE:
                return ("protected-identity", "protected_identity must be 0/1, true/false")
        key = self.hasher.raw(system, person)
        return (key, hsa_id, lanskod, listing_type.upper(), valid_from, valid_to, protected)


def _lines(stream: IO[bytes], progress: Callable[[int], None] | None) -> Iterator[str]:
    first = True
    pending = 0
    for raw in stream:
        pending += len(raw)
        if progress is not None and pending >= 1 << 20:
            progress(pending)
            pending = 0
        if first:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
            first = False
        yield raw.decode("utf-8", errors="replace")
    if progress is not None and pending:
        progress(pending)


def parse_rows(
    stream: IO[bytes],
    hasher: ListingHasher,
    report: ImportReport,
    progress: Callable[[int], None] | None = None,
) -> Iterator[Row]:
    """The accepted rows of a listing CSV, hashed; rejections go into ``report``."""
    reader = csv.reader(_lines(stream, progress))
    header = next(reader, None)
    if header is None:
        raise ListingFileError("the file is empty (no header row)")
    parser = RowParser(header, hasher)
    for fields in reader:
        if not fields or fields == [""]:
            continue
        report.read += 1
        parsed = parser.parse(fields)
        if len(parsed) == 2:
            code, reason = parsed
            report.reject(reader.line_num, code, reason)
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
    that stops halfway can simply be run again (the import is idempotent)."""
    report = ImportReport(max_rejects_kept=max_rejects_kept)
    rows = parse_rows(stream, hasher, report, progress)
    if engine.dialect.name == "postgresql":
        report.inserted = _import_postgresql(engine, rows, batch_size)
    else:
        before = count_entries(engine)
        _import_generic(engine, rows, batch_size)
        report.inserted = count_entries(engine) - before
    return report


_STAGING = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS listing_staging ("
    " seq bigint, person_key bytea, hsa_id text, lanskod text, listing_type text,"
    " valid_from date, valid_to date, protected_identity boolean)"
)
_MERGE = """
WITH merged AS (
    INSERT INTO listing_entry
        (person_key, hsa_id, lanskod, listing_type, valid_from, valid_to, protected_identity)
    SELECT DISTINCT ON (person_key, hsa_id, listing_type, valid_from)
        person_key, hsa_id, lanskod, listing_type, valid_from, valid_to, protected_identity
    FROM listing_staging
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


def _copy_text(seq: int, row: Row) -> str:
    key, hsa_id, lanskod, listing_type, valid_from, valid_to, protected = row
    # Every text field was checked against a strict pattern: no tab, newline or backslash.
    to = valid_to.isoformat() if valid_to else "\\N"
    return (
        f"{seq}\t\\\\x{key.hex()}\t{hsa_id}\t{lanskod}\t{listing_type}\t"
        f"{valid_from.isoformat()}\t{to}\t{'t' if protected else 'f'}\n"
    )


def _import_postgresql(engine: Engine, rows: Iterable[Row], batch_size: int) -> int:
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
                with cursor.copy(
                    "COPY listing_staging (seq, person_key, hsa_id, lanskod, listing_type,"
                    " valid_from, valid_to, protected_identity) FROM STDIN"
                ) as copy:
                    chunk: list[str] = []
                    for row in batch:
                        seq += 1
                        chunk.append(_copy_text(seq, row))
                        if len(chunk) >= 5000:
                            copy.write("".join(chunk))
                            chunk = []
                    if chunk:
                        copy.write("".join(chunk))
                cursor.execute(_MERGE)
                found = cursor.fetchone()
                inserted += int(found[0]) if found else 0
                cursor.execute("TRUNCATE listing_staging")
                connection.commit()
            cursor.execute("DROP TABLE IF EXISTS listing_staging")
            connection.commit()
    except BaseException:
        raw.invalidate()  # never hand a half-done session back to the pool
        raise
    finally:
        raw.close()
    return inserted


_UPSERT_GENERIC = (
    "INSERT INTO listing_entry (person_key, hsa_id, lanskod, listing_type, valid_from,"
    " valid_to, protected_identity) VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (person_key, hsa_id, listing_type, valid_from) DO UPDATE SET"
    " lanskod = excluded.lanskod, valid_to = excluded.valid_to,"
    " protected_identity = excluded.protected_identity"
)


def _import_generic(engine: Engine, rows: Iterable[Row], batch_size: int) -> None:
    for batch in _batches(rows, min(batch_size, 10_000)):
        params = [
            (k, h, lk, t, f.isoformat(), to.isoformat() if to else None, int(p))
            for k, h, lk, t, f, to, p in batch
        ]
        with engine.begin() as connection:
            connection.exec_driver_sql(_UPSERT_GENERIC, params)


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
