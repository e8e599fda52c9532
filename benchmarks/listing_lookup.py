"""Listing register at national scale: import N rows into PostgreSQL, then look persons up.

    .venv/bin/python benchmarks/listing_lookup.py              # 10 500 000 rows
    .venv/bin/python benchmarks/listing_lookup.py --rows 1000000

Starts its own throwaway PostgreSQL cluster (tests.support.postgres_cluster), migrates it,
and streams synthetic rows (valid synthetic personnummer, one PV listing each, a few with
an ended earlier listing) through the real importer (``import_listings``: parse, check,
HMAC, COPY into staging, INSERT … ON CONFLICT) without ever holding the file in memory.
Then it times ``lookup`` for random persons over one pooled connection, as the resolver
does. Prints rows/s, the importing process's peak RSS (getrusage) and lookup p50/p95/p99.

Targets (issue 4): 10.5 M rows in under 5 minutes, under 500 MB, lookup p99 under 2 ms.
"""

from __future__ import annotations

import argparse
import datetime
import random
import resource
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text

from gateway.routing import listing_register
from gateway.routing.person import ListingHasher
from gateway.routing.reference_data import regions
from gateway.store.db import make_engine
from gateway.store.migrate import upgrade
from gateway.validation.identifiers import (
    SYSTEM_PERSONNUMMER,
    synthetic_personnummer,
)
from tests.support.postgres_cluster import start_cluster, stop_cluster

FIRST_BIRTH = datetime.date(1925, 1, 1)
DAYS = 36_000  # birth dates spread over ~98 years
HEADER = b"person_id,hsa_id,lanskod,listing_type,valid_from,valid_to\n"
LANSKODER = sorted(regions())


def person(i: int) -> str:
    """The i-th synthetic person: unique for i < DAYS * 1000."""
    return synthetic_personnummer(FIRST_BIRTH + datetime.timedelta(days=i % DAYS), i // DAYS)


def unit(i: int) -> tuple[str, str]:
    lanskod = LANSKODER[i % len(LANSKODER)]
    return f"SE23210000{lanskod}-VC{(i * 7919) % 1200:04d}", lanskod


class SyntheticFile:
    """An iterable of CSV lines (bytes), generated on the fly: ~8 % of persons also carry
    an ended earlier listing, so the file has more rows than persons."""

    def __init__(self, rows: int) -> None:
        self.rows = rows

    def __iter__(self) -> Iterator[bytes]:
        yield HEADER
        produced = 0
        i = 0
        while produced < self.rows:
            number = person(i)
            hsa, lanskod = unit(i)
            yield f"{number},{hsa},{lanskod},PV,2021-03-01,\n".encode()
            produced += 1
            if i % 12 == 0 and produced < self.rows:
                old_hsa, old_lanskod = unit(i + 5)
                yield f"{number},{old_hsa},{old_lanskod},PV,2015-01-01,2021-02-28\n".encode()
                produced += 1
            i += 1
        self.persons = i


def percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_500_000)
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=100_000)
    args = parser.parse_args()

    cluster = start_cluster()
    try:
        admin = make_engine(cluster.url("postgres"))
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("CREATE DATABASE listing_bench"))
        admin.dispose()
        url = cluster.url("listing_bench")
        upgrade(url)
        engine = make_engine(url)
        hasher = ListingHasher(b"benchmark-listing-hash-key-32byte")
        source = SyntheticFile(args.rows)

        print(f"importing {args.rows:,} rows into PostgreSQL …", flush=True)
        started = time.perf_counter()
        report = listing_register.import_listings(
            engine,
            source,  # type: ignore[arg-type]
            hasher,
            batch_size=args.batch_size,
        )
        elapsed = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        assert report.rejected == 0, report.rejects[:5]
        assert report.inserted == args.rows, (report.inserted, args.rows)

        with engine.connect() as connection:
            table_mb = connection.execute(
                text("SELECT pg_total_relation_size('listing_entry') / 1048576.0")
            ).scalar_one()
            connection.execute(text("ANALYZE listing_entry"))
            connection.commit()

        rng = random.Random(42)
        keys = [
            hasher.raw(SYSTEM_PERSONNUMMER, person(rng.randrange(source.persons)))
            for _ in range(args.lookups)
        ]
        timings: list[float] = []
        with engine.connect() as connection:
            for key in keys[:500]:  # warm the connection and the statement cache
                listing_register.lookup(connection, key)
            for key in keys:
                t0 = time.perf_counter_ns()
                found, _ = listing_register.lookup(connection, key)
                timings.append((time.perf_counter_ns() - t0) / 1e6)
                assert found, "every sampled person is listed"
        timings.sort()
        engine.dispose()

        print(f"rows imported        {report.inserted:,} ({source.persons:,} persons)")
        print(f"import time          {elapsed:,.1f} s")
        print(f"import rate          {report.inserted / elapsed:,.0f} rows/s")
        print(f"peak RSS (importer)  {peak_mb:,.0f} MB")
        print(f"table + indexes      {table_mb:,.0f} MB")
        print(
            f"lookup latency       p50 {percentile(timings, 0.50):.3f} ms  "
            f"p95 {percentile(timings, 0.95):.3f} ms  p99 {percentile(timings, 0.99):.3f} ms  "
            f"(mean {statistics.fmean(timings):.3f} ms over {len(timings):,} lookups)"
        )
        ok = elapsed < 300 * args.rows / 10_500_000 and peak_mb < 500
        ok = ok and percentile(timings, 0.99) < 2.0
        print("targets (scaled to the row count): " + ("met" if ok else "NOT met"))
    finally:
        stop_cluster(cluster)


if __name__ == "__main__":
    main()
