#!/usr/bin/env python
"""Throughput and latency of ``POST /fhir/ServiceRequest/$submit``, as a ratio.

Every submission is a distinct request (its own kommun case identifier) of the kommun
Organization/kommun-2180 for the next of ``--persons`` synthetic persons, each listed in
the local listing register at the vårdcentral of the demo person ``anna``, sent with a
real SMART Backend Services access token, so the whole submit path runs: authentication,
validation of the Bundle, routing, consent evaluation, storage, the Task, the outbox row
and the audit events.

Two servers on 127.0.0.1, each uvicorn in ``--server-processes`` processes of its own
(default: one per core, as the gateway is deployed), on the same database:

* the *gateway*: ``kv-gateway serve --workers N`` (SMART tokens) on a throwaway PostgreSQL
  cluster (or a SQLite file), seeded with ``gateway.routing.demo_directory.seed_demo``;
* the *baseline*: a bare FastAPI endpoint at the same path that stores the same Bundle
  body unprocessed: one row with the raw JSON per request, in its own committed
  transaction, in the same database.

The client threads run in this process, apart from both servers.

Two measurements, alternating baseline/gateway in every round:

1. maximum throughput: ``--submissions`` requests from ``--concurrency`` client threads
   (closed loop) → submits/s, and the median of the per-round ratios gateway/baseline;
2. latency at a fixed rate: open loop at ``--rate`` submits/s for ``--rate-seconds``
   → p50/p95/p99 (measured from each request's scheduled send time).

Run from the repository root:
``.venv/bin/python benchmarks/submit_throughput.py --help``.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import io
import json
import os
import platform
import queue
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, Request
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Text,
    func,
    insert,
    select,
    text,
)
from sqlalchemy import (
    Table as SqlTable,
)
from starlette.responses import Response

# Run as a file (``python benchmarks/submit_throughput.py``) sys.path[0] is benchmarks/;
# the repository root is needed for ``gateway`` and ``tests.support``.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.cpu_time import CpuMeter, CpuSample, CpuShare, parent_of, proc_readable
from benchmarks.keepalive_client import KeepAliveConnection
from gateway.app import create_app
from gateway.logging import configure_logging
from gateway.routing.demo_directory import PERSONS, UNITS, DemoPeers, seed_demo, unit_hsa_id
from gateway.routing.listing_register import import_listings
from gateway.routing.person import ListingHasher
from gateway.security.caller import PartyKind
from gateway.settings import AuthMode, LogFormat, Settings
from gateway.store.db import IMMEDIATE_OPTION, make_engine
from gateway.store.migrate import upgrade
from gateway.store.resources import ResourceStore
from gateway.validation.identifiers import synthetic_personnummer
from tests.support.auth import ASSERTION_TYPE, assertion, register_client
from tests.support.live_server import free_port
from tests.support.postgres_cluster import find_bin_dir, start_cluster, stop_cluster
from tests.support.submissions import submission

REPOSITORY = Path(__file__).resolve().parents[1]
FHIR_JSON = "application/fhir+json"
POST_HEADERS = {"content-type": FHIR_JSON, "accept": FHIR_JSON}
SUBMIT_PATH = "/fhir/ServiceRequest/$submit"
BACKENDS = ("postgresql", "sqlite")
PG_DATABASE = "kvgw_bench"
LOOPBACK = "127.0.0.1"
KOMMUN = "Organization/kommun-2180"  # Gävle
PERSON = next(p for p in PERSONS if p.key == "anna")  # lives in Gävle, listed in Jönköping
# Submissions are for distinct persons, listed where anna is: one person for all of them
# would serialise every submission on the conditional create of that one Patient.
POOL_FIRST_BIRTH = datetime.date(1940, 1, 1)
POOL_SERIAL = 917
# The demo directory's fhir-rest Endpoint needs an address; nothing is ever sent there
# (the delivery worker is off), and it is on loopback anyway.
UNUSED_PEER = f"http://{LOOPBACK}:9/fhir"
TARGET_SUBMITS_PER_SECOND = 200.0
TARGET_P99_MS = 100.0
TARGET_RATE = 50.0  # the p99 target holds at this rate

# Piped (> file) rich would wrap at 80 columns; the tables need a little more.
console = Console() if sys.stdout.isatty() else Console(width=120)


# ---------------------------------------------------------------------------
# workload


def pool_person(i: int) -> str:
    """The i-th synthetic person of the pool (distinct birth dates, one birth number)."""
    return synthetic_personnummer(POOL_FIRST_BIRTH + datetime.timedelta(days=i), POOL_SERIAL)


def list_the_pool(engine: Engine, settings: Settings, size: int) -> None:
    """Register every pool person in the local listing register at ``anna``'s
    vårdcentral, as a region's listing file would."""
    hasher = ListingHasher(settings.listing_hash_key.get_secret_value().encode())
    unit = next(u for u in UNITS if u.key == PERSON.listed_at)
    lines = ["person_id,hsa_id,lanskod,listing_type,valid_from,valid_to"]
    lines += [
        f"{pool_person(i)},{unit_hsa_id(unit.key)},{unit.lanskod},PV,2020-01-01,"
        for i in range(size)
    ]
    report = import_listings(engine, io.BytesIO("\n".join(lines).encode()), hasher)
    if report.inserted != size:
        raise RuntimeError(f"listing the pool inserted {report.inserted} of {size} rows")


class Submissions:
    """Thread-safe source of distinct submissions for one server: each has its own kommun
    case identifier and the next person of the pool (round robin)."""

    def __init__(self, prefix: str, pool_size: int) -> None:
        self._prefix = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self._pool_size = pool_size
        self._next = 0
        self._lock = threading.Lock()

    def body(self) -> bytes:
        """The kommun's $submit Bundle (Patient, socialsekreterare, ServiceRequest, Consent
        with the ``listad-vardcentral`` custodian)."""
        with self._lock:
            self._next += 1
            number = self._next
        person = pool_person(number % self._pool_size)
        case_id = f"{self._prefix}-{number:06d}"
        return json.dumps(submission(person, KOMMUN, case_id=case_id)).encode()

    def bodies(self, count: int) -> list[bytes]:
        """The next ``count`` bodies, made before a run so that making them is not part of
        the client's CPU time under load."""
        return [self.body() for _ in range(count)]


@dataclass
class Target:
    """One server under load: where it is, how to call it, how to check an answer."""

    name: str
    base_url: str
    submissions: Submissions
    headers: Callable[[], dict[str, str]]  # current request headers (a fresh token)
    expect_task: bool
    cpu: CpuMeter | None = None  # the server's and the database's CPU time (Linux)

    def submit(self, connection: KeepAliveConnection, body: bytes) -> None:
        status, answer = connection.request("POST", SUBMIT_PATH, body, self.headers())
        if status != 201:
            raise RuntimeError(f"{self.name} $submit answered {status}: {answer[:500]!r}")
        if self.expect_task and json.loads(answer).get("resourceType") != "Task":
            raise RuntimeError(f"{self.name} $submit did not answer a Task: {answer[:500]!r}")


@dataclass
class ThroughputRun:
    target: str
    round: int
    submissions: int
    seconds: float
    latency_ms: list[float] = field(repr=False)
    cpu: CpuShare | None = None

    @property
    def per_second(self) -> float:
        return self.submissions / self.seconds


@dataclass
class RateRun:
    target: str
    round: int
    rate: float
    scheduled: int
    seconds: float  # from the first scheduled send to the last answer
    latency_ms: list[float] = field(repr=False)  # from the scheduled send time
    send_lag_ms: list[float] = field(repr=False)  # scheduled → actually sent

    @property
    def achieved_per_second(self) -> float:
        return len(self.latency_ms) / self.seconds


def _wait_for(threads: list[threading.Thread], stop: threading.Event) -> None:
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.1)  # short waits, so Ctrl-C is seen at once
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=65)


def _check_deadline(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise TimeoutError("the benchmark ran past --max-seconds")


def run_throughput(
    target: Target,
    *,
    round_no: int,
    submissions: int,
    warmup: int,
    concurrency: int,
    progress: Progress,
    task: TaskID,
    deadline: float,
) -> ThroughputRun:
    """Closed loop: ``concurrency`` threads, each with its own keep-alive connection, warm
    up, meet at a barrier, then share ``submissions`` requests. Wall time is from the
    barrier to the last answer."""
    lock = threading.Lock()
    remaining = submissions
    latency_ms: list[float] = []
    finished: list[float] = []
    errors: list[BaseException] = []
    stop = threading.Event()
    started: list[float] = []
    cpu_at_start: list[CpuSample] = []

    def start() -> None:
        if target.cpu is not None:
            cpu_at_start.append(target.cpu.sample())
        started.append(time.perf_counter())

    barrier = threading.Barrier(concurrency, action=start)
    warm_share = -(-warmup // concurrency) if warmup else 0
    bodies = target.submissions.bodies(submissions)

    def worker() -> None:
        nonlocal remaining
        try:
            warm_bodies = target.submissions.bodies(warm_share)
            with KeepAliveConnection(target.base_url) as connection:
                for body in warm_bodies:
                    _check_deadline(deadline)
                    target.submit(connection, body)
                barrier.wait()
                while not stop.is_set():
                    _check_deadline(deadline)
                    with lock:
                        if remaining == 0:
                            break
                        remaining -= 1
                        body = bodies[remaining]
                    start = time.perf_counter()
                    target.submit(connection, body)
                    elapsed = (time.perf_counter() - start) * 1000
                    with lock:
                        latency_ms.append(elapsed)
                    progress.advance(task)
                finished.append(time.perf_counter())
        except threading.BrokenBarrierError:
            pass  # another worker failed; its error is reported
        except BaseException as error:
            errors.append(error)
            stop.set()
            barrier.abort()

    threads = [
        threading.Thread(target=worker, name=f"bench-client-{i}", daemon=True)
        for i in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    try:
        _wait_for(threads, stop)
    finally:
        barrier.abort()
    if errors:
        raise RuntimeError(f"{target.name} run failed: {errors[0]!r}") from errors[0]
    cpu = (
        CpuMeter.share(cpu_at_start[0], target.cpu.sample(), len(latency_ms))
        if target.cpu is not None
        else None
    )
    return ThroughputRun(
        target=target.name,
        round=round_no,
        submissions=len(latency_ms),
        seconds=max(finished) - started[0],
        latency_ms=latency_ms,
        cpu=cpu,
    )


def run_rate(
    target: Target,
    *,
    round_no: int,
    rate: float,
    seconds: float,
    clients: int,
    progress: Progress,
    task: TaskID,
    deadline: float,
) -> RateRun:
    """Open loop: a scheduler queues one request every 1/rate s for ``seconds``; a pool of
    ``clients`` threads (own keep-alive connection each) sends them as they come. Latency
    is counted from the scheduled time, so a server that falls behind is not flattered by
    requests that were simply sent later (no coordinated omission)."""
    total = max(1, round(rate * seconds))
    bodies = target.submissions.bodies(total)
    work: queue.Queue[tuple[float, bytes] | None] = queue.Queue()
    lock = threading.Lock()
    latency_ms: list[float] = []
    send_lag_ms: list[float] = []
    finished: list[float] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def worker() -> None:
        try:
            with KeepAliveConnection(target.base_url) as connection:
                connection.request("GET", "/healthz" if target.expect_task else "/ping")
                while not stop.is_set():
                    try:
                        item = work.get(timeout=0.1)
                    except queue.Empty:
                        continue
                    if item is None:
                        break
                    scheduled, body = item
                    _check_deadline(deadline)
                    sent = time.perf_counter()
                    target.submit(connection, body)
                    done = time.perf_counter()
                    with lock:
                        latency_ms.append((done - scheduled) * 1000)
                        send_lag_ms.append((sent - scheduled) * 1000)
                        finished.append(done)
                    progress.advance(task)
        except BaseException as error:
            errors.append(error)
            stop.set()

    threads = [
        threading.Thread(target=worker, name=f"bench-rate-{i}", daemon=True) for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    first = time.perf_counter() + 0.5  # let the pool connect first
    try:
        for i in range(total):
            scheduled = first + i / rate
            while (pause := scheduled - time.perf_counter()) > 0 and not stop.is_set():
                time.sleep(min(pause, 0.1))
            if stop.is_set():
                break
            work.put((scheduled, bodies[i]))
        for _ in threads:
            work.put(None)
    finally:
        _wait_for(threads, stop)
    if errors:
        raise RuntimeError(f"{target.name} run failed: {errors[0]!r}") from errors[0]
    return RateRun(
        target=target.name,
        round=round_no,
        rate=rate,
        scheduled=total,
        seconds=max(finished) - first,
        latency_ms=latency_ms,
        send_lag_ms=send_lag_ms,
    )


# ---------------------------------------------------------------------------
# the two servers

BASELINE_TABLE = SqlTable(
    "bench_baseline_submission",
    MetaData(),
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("body", Text, nullable=False),
)


async def _baseline_body(request: Request) -> bytes:
    return await request.body()


# Module level: FastAPI resolves the (postponed) annotation in the module's namespace.
BaselineBody = Annotated[bytes, Depends(_baseline_body)]


def baseline_app(engine: Engine) -> FastAPI:
    """``POST /fhir/ServiceRequest/$submit`` that stores the raw Bundle and nothing else.

    Shaped like the gateway's route: the body is read by an async dependency, the route is
    a plain function that FastAPI runs in its thread pool, and it inserts one row with the
    body as it came (not parsed, not validated) in its own committed transaction, through
    a pooled SQLAlchemy engine on the same database as the gateway's.
    """
    app = FastAPI(title="baseline")
    writer = engine.execution_options(**{IMMEDIATE_OPTION: True})  # as the gateway's sessions

    @app.get("/ping")
    def ping() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(SUBMIT_PATH, status_code=201)
    def store(request: Request, body: BaselineBody) -> Response:
        with writer.begin() as connection:
            row_id = connection.execute(
                insert(BASELINE_TABLE).values(body=body.decode()).returning(BASELINE_TABLE.c.id)
            ).scalar_one()
        return Response(
            json.dumps({"id": str(row_id)}),
            status_code=201,
            media_type=FHIR_JSON,
            headers={"Location": f"{request.base_url}baseline/{row_id}"},
        )

    return app


BASELINE_DATABASE_ENV = "KVGW_BENCH_BASELINE_DATABASE_URL"


def baseline_from_environment() -> FastAPI:
    """Factory for the baseline's uvicorn processes: the database URL comes from
    ``KVGW_BENCH_BASELINE_DATABASE_URL``."""
    url = os.environ[BASELINE_DATABASE_ENV]
    return baseline_app(make_engine(url))


def gateway_settings(database_url: str, port: int) -> Settings:
    return Settings(
        _env_file=None,  # a developer's .env must not change the benchmark
        **{name.lower(): value for name, value in _gateway_environment(database_url, port).items()},
    )


def _gateway_environment(database_url: str, port: int) -> dict[str, str]:
    """The gateway's settings for the run, as its processes read them (``KVGW_`` names
    without the prefix); everything else stays at its default."""
    return {
        "AUTH_MODE": AuthMode.SMART.value,
        "DATABASE_URL": database_url,
        "PUBLIC_BASE_URL": f"http://{LOOPBACK}:{port}",
        "LOG_FORMAT": LogFormat.CONSOLE.value,
        "LOG_LEVEL": "WARNING",
        "DELIVERY_WORKER_IN_PROCESS": "false",  # only the submit path is measured
        "RATE_LIMIT_PER_MINUTE": "0",  # the per-client limit (600/min) would refuse the load
        "LISTING_CACHE_SECONDS": "0",  # every submission asks the listing register
    }


class TokenSource:
    """A real SMART Backend Services token of a kommun client, renewed well before it
    expires (outside the timed part: ``refresh`` is called before each run)."""

    def __init__(self, base_url: str, public_base_url: str, identity: Any) -> None:
        self._base_url = base_url
        self._token_url = f"{public_base_url}/auth/token"
        self._identity = identity
        self._headers: dict[str, str] = {}
        self._expires = 0.0

    def refresh(self) -> None:
        if time.monotonic() < self._expires - 120:
            return
        with httpx.Client(base_url=self._base_url, trust_env=False, timeout=30) as client:
            answer = client.post(
                "/auth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_assertion_type": ASSERTION_TYPE,
                    "client_assertion": assertion(self._identity, aud=self._token_url),
                    "scope": "system/*.cruds",
                },
            )
        if answer.status_code != 200:
            raise RuntimeError(f"token endpoint answered {answer.status_code}: {answer.text}")
        grant = answer.json()
        self._headers = {**POST_HEADERS, "authorization": f"Bearer {grant['access_token']}"}
        self._expires = time.monotonic() + float(grant.get("expires_in", 300))

    def headers(self) -> dict[str, str]:
        return self._headers


@dataclass
class Servers:
    gateway: Target
    baseline: Target
    tokens: TokenSource
    engine: Engine


def _clean_environment(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without any KVGW_ setting, plus ``extra``."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith("KVGW_")}
    kept["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPOSITORY), kept.get("PYTHONPATH")]))
    return {**kept, **extra}


@contextmanager
def server_process(
    name: str, argv: list[str], env: dict[str, str], port: int, ready_path: str
) -> Iterator[tuple[str, int]]:
    """Run a server command until the block ends; yield its base URL and process id once
    ``ready_path`` answers 200. The command's output goes to a temporary file, shown if it
    fails."""
    url = f"http://{LOOPBACK}:{port}"
    with tempfile.TemporaryDirectory(prefix=f"kvgw-bench-{name}-") as folder:
        output = Path(folder) / "output.log"
        with output.open("wb") as sink:
            # cwd: an empty folder, so no .env of the developer's is read.
            process = subprocess.Popen(
                argv, cwd=folder, env=env, stdout=sink, stderr=subprocess.STDOUT
            )
        try:
            _wait_until_ready(process, url + ready_path, output)
            yield url, process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_ready(process: subprocess.Popen[bytes], url: str, output: Path) -> None:
    deadline = time.monotonic() + 90
    with httpx.Client(trust_env=False, timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            try:
                if client.get(url).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    tail = output.read_text(encoding="utf-8", errors="replace")[-3000:]
    raise RuntimeError(f"the server behind {url} did not start:\n{tail}")


def _gateway_command(port: int, processes: int) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from gateway.cli.main import app; app()",
        "serve",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--workers",
        str(processes),
    ]


def _baseline_command(port: int, processes: int) -> list[str]:
    # The same runner as `kv-gateway serve` (gateway.cli.serving), so both servers get
    # the same socket handling.
    return [
        sys.executable,
        "-c",
        "import sys; from gateway.cli.serving import serve_app, server_config; "
        "serve_app(server_config('benchmarks.submit_throughput:baseline_from_environment', "
        "host=sys.argv[1], port=int(sys.argv[2]), workers=int(sys.argv[3])))",
        LOOPBACK,
        str(port),
        str(processes),
    ]


@contextmanager
def servers(database_url: str, processes: int, pool_size: int) -> Iterator[Servers]:
    """Gateway and baseline, ``processes`` uvicorn workers each, on free loopback ports
    and one seeded database."""
    port = free_port()
    settings = gateway_settings(database_url, port)
    engine = make_engine(database_url, sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    try:
        BASELINE_TABLE.create(engine, checkfirst=True)
        # Seed and register the client through an app in this process; it serves nothing.
        app = create_app(settings, engine=engine)
        with app.state.session_factory() as session, session.begin():
            seed_demo(ResourceStore(session), app.state.validator, DemoPeers(UNUSED_PEER), settings)
        list_the_pool(engine, settings, pool_size)
        identity = register_client(app, KOMMUN, PartyKind.KOMMUN)
        gateway_env = {
            f"KVGW_{name}": value
            for name, value in _gateway_environment(database_url, port).items()
        }
        baseline_port = free_port()
        with (
            server_process(
                "gateway",
                _gateway_command(port, processes),
                _clean_environment(gateway_env),
                port,
                "/readyz",
            ) as (gateway_url, gateway_pid),
            server_process(
                "baseline",
                _baseline_command(baseline_port, processes),
                _clean_environment({BASELINE_DATABASE_ENV: database_url}),
                baseline_port,
                "/ping",
            ) as (baseline_url, baseline_pid),
        ):
            tokens = TokenSource(gateway_url, settings.public_base_url, identity)
            tokens.refresh()
            database_pid = database_server_pid(engine)
            yield Servers(
                gateway=Target(
                    "gateway",
                    gateway_url,
                    Submissions("gw", pool_size),
                    tokens.headers,
                    True,
                    CpuMeter(gateway_pid, database_pid) if proc_readable() else None,
                ),
                baseline=Target(
                    "baseline",
                    baseline_url,
                    Submissions("bl", pool_size),
                    tokens.headers,
                    False,
                    CpuMeter(baseline_pid, database_pid) if proc_readable() else None,
                ),
                tokens=tokens,
                engine=engine,
            )
    finally:
        engine.dispose()


@contextmanager
def sqlite_database() -> Iterator[str]:
    folder = Path(tempfile.mkdtemp(prefix="kvgw-bench-"))
    try:
        url = f"sqlite:///{folder / 'gateway.db'}"
        upgrade(url)
        yield url
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def postgres_database(info: dict[str, Any]) -> Iterator[str]:
    """A throwaway cluster (tests.support.postgres_cluster) with one migrated database.

    Raises FileNotFoundError when no PostgreSQL server binaries are installed.
    """
    import psycopg

    bin_dir = find_bin_dir()
    if bin_dir is None or not (bin_dir / "initdb").exists():
        where = f"no initdb in {bin_dir}" if bin_dir else "no initdb found"
        raise FileNotFoundError(f"PostgreSQL server binaries are not installed ({where})")
    cluster = start_cluster()
    try:
        with psycopg.connect(
            host=cluster.host, port=cluster.port, user=cluster.user, dbname="postgres"
        ) as connection:
            connection.autocommit = True
            connection.execute(f"CREATE DATABASE {PG_DATABASE}")
            row = connection.execute("SHOW server_version").fetchone()
            info["postgresql_server"] = str(row[0]) if row else "unknown"
            settings = {
                name: str(connection.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
                for name in ("fsync", "synchronous_commit", "full_page_writes", "shared_buffers")
            }
            info["postgresql_settings"] = settings
        info["postgresql_bin"] = str(cluster.bin_dir)
        url = cluster.url(PG_DATABASE)
        upgrade(url)
        yield url
    finally:
        stop_cluster(cluster)


def database_server_pid(engine: Engine) -> int | None:
    """The PostgreSQL server's main process, parent of every backend; None for SQLite,
    whose time is spent in the server processes themselves."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as connection:
        backend = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    return parent_of(int(backend))


def refresh_statistics(engine: Engine) -> None:
    """ANALYZE on PostgreSQL, as autovacuum does for a database in service.

    The benchmark's database starts empty and grows by a few thousand submissions in a
    minute or two, faster than autovacuum's analyze thresholds and nap time follow. With
    the statistics of an empty table the planner drove the visibility check of every
    conditional create from the kommun's grants, a scan that grew with each round (80,
    72, 63 submits/s by round) and that a database with statistics does not do."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))


def stored_counts(engine: Engine) -> dict[str, int]:
    """What the gateway's database holds after the runs (a check that the path ran)."""
    with engine.connect() as connection:
        by_type = dict(
            connection.execute(
                text(
                    "SELECT res_type, count(*) FROM fhir_resource "
                    "WHERE res_type IN ('ServiceRequest', 'Task', 'Consent', 'AuditEvent') "
                    "GROUP BY res_type"
                )
            ).all()
        )
        outbox = connection.execute(text("SELECT count(*) FROM outbox_message")).scalar_one()
        baseline = connection.execute(select(func.count()).select_from(BASELINE_TABLE)).scalar_one()
    counts = {str(k): int(v) for k, v in by_type.items()}
    counts["outbox_message"] = int(outbox)
    counts["baseline_rows"] = int(baseline)
    return counts


# ---------------------------------------------------------------------------
# reporting


def percentiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        only = round(values[0], 2) if values else float("nan")
        return {"p50": only, "p95": only, "p99": only, "max": only}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {
        "p50": round(cuts[49], 2),
        "p95": round(cuts[94], 2),
        "p99": round(cuts[98], 2),
        "max": round(max(values), 2),
    }


def throughput_result(
    gateway: list[ThroughputRun], baseline: list[ThroughputRun]
) -> dict[str, Any]:
    ratios = [g.per_second / b.per_second for g, b in zip(gateway, baseline, strict=True)]

    def side(runs: list[ThroughputRun]) -> dict[str, Any]:
        figures = {
            "submits_per_second": round(statistics.median(r.per_second for r in runs), 1),
            "submits_per_second_by_round": [round(r.per_second, 1) for r in runs],
            "latency_ms": percentiles([ms for r in runs for ms in r.latency_ms]),
        }
        shares = [r.cpu for r in runs if r.cpu is not None]
        if shares:
            figures["cpu"] = cpu_result(shares)
        return figures

    return {
        "gateway": side(gateway),
        "baseline": side(baseline),
        "ratio_by_round": [round(r, 4) for r in ratios],
        "ratio_median": round(statistics.median(ratios), 4),
    }


def cpu_result(shares: list[CpuShare]) -> dict[str, Any]:
    """CPU ms per submission by part and the machine's busy share, medians over rounds;
    the ceiling is what the usable cores would carry at the median total cost."""

    def median(values: list[float]) -> float:
        return round(statistics.median(values), 2)

    total = median([share.total_ms for share in shares])
    cores = usable_cores()
    return {
        "server_ms": median([share.server_ms for share in shares]),
        "database_ms": median([share.database_ms for share in shares]),
        "client_ms": median([share.client_ms for share in shares]),
        "total_ms": total,
        "total_ms_by_round": [round(share.total_ms, 2) for share in shares],
        "machine_busy": median([share.machine_busy for share in shares]),
        "cores": cores,
        "ceiling_per_second": round(cores * 1000 / total, 1) if total else None,
    }


def rate_result(gateway: list[RateRun], baseline: list[RateRun]) -> dict[str, Any]:
    def p99(run: RateRun) -> float:
        return percentiles(run.latency_ms)["p99"]

    def p50(run: RateRun) -> float:
        return percentiles(run.latency_ms)["p50"]

    def side(runs: list[RateRun]) -> dict[str, Any]:
        return {
            "latency_ms": percentiles([ms for r in runs for ms in r.latency_ms]),
            "p99_by_round": [p99(r) for r in runs],
            "send_lag_ms": percentiles([ms for r in runs for ms in r.send_lag_ms]),
            "achieved_per_second_by_round": [round(r.achieved_per_second, 1) for r in runs],
            "requests": sum(len(r.latency_ms) for r in runs),
        }

    p50_ratios = [p50(g) / p50(b) for g, b in zip(gateway, baseline, strict=True)]
    p99_ratios = [p99(g) / p99(b) for g, b in zip(gateway, baseline, strict=True)]
    return {
        "gateway": side(gateway),
        "baseline": side(baseline),
        "p50_ratio_by_round": [round(r, 2) for r in p50_ratios],
        "p50_ratio_median": round(statistics.median(p50_ratios), 2),
        "p99_ratio_by_round": [round(r, 2) for r in p99_ratios],
        "p99_ratio_median": round(statistics.median(p99_ratios), 2),
    }


def _dist(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def usable_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def machine_info() -> dict[str, Any]:
    cpu_model = "unknown"
    memory = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) // 1024} MiB"
                break
    except OSError:
        pass
    usable = usable_cores()
    return {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "cpu": cpu_model,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "memory": memory,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "sqlite": sqlite3.sqlite_version,
        "packages": {
            name: _dist(name)
            for name in (
                "kv-gateway",
                "fastapi",
                "starlette",
                "uvicorn",
                "httpx",
                "sqlalchemy",
                "psycopg",
            )
        },
    }


def print_machine(info: dict[str, Any]) -> None:
    packages = ", ".join(f"{k} {v}" for k, v in info["packages"].items())
    postgres = ""
    if "postgresql_server" in info:
        pg_settings = ", ".join(f"{k}={v}" for k, v in info["postgresql_settings"].items())
        postgres = (
            f"; [bold]PostgreSQL[/]: {info['postgresql_server']} ({info['postgresql_bin']}; "
            f"{pg_settings})"
        )
    console.print(
        f"[bold]Machine[/]: {info['cpu']}; {info['cores']} cores ({info['usable_cores']} usable), "
        f"{info['memory']}; load average {info['load_average_at_start']} at start, "
        f"{info.get('load_average_at_end', '?')} at end\n"
        f"[bold]Python[/]: {info['python']} on {info['platform']}\n"
        f"[bold]Packages[/]: {packages}\n"
        f"[bold]SQLite[/]: {info['sqlite']}" + postgres,
        highlight=False,
    )


def _verdict(met: bool) -> str:
    return "[green]met[/]" if met else "[red]NOT met[/]"


def print_cpu(results: dict[str, Any]) -> None:
    measured = [
        (backend, target, result["throughput"][target]["cpu"])
        for backend, result in results.items()
        for target in ("gateway", "baseline")
        if "cpu" in result["throughput"][target]
    ]
    if not measured:
        return
    table = Table(title="CPU time per submission under max load, ms (median over rounds)")
    for heading in ("Backend", "Server"):
        table.add_column(heading)
    for heading in ("server", "PostgreSQL", "client", "total", "machine busy", "ceiling"):
        table.add_column(heading, justify="right")
    for backend, target, cpu in measured:
        table.add_row(
            backend,
            target,
            f"{cpu['server_ms']:.2f}",
            f"{cpu['database_ms']:.2f}" if backend == "postgresql" else "–",
            f"{cpu['client_ms']:.2f}",
            f"[bold]{cpu['total_ms']:.2f}[/]",
            f"{100 * cpu['machine_busy']:.0f} %",
            f"{cpu['ceiling_per_second']:.0f}/s",
            end_section=target == "baseline",
        )
    console.print(table)
    console.print(
        "From /proc: the server's processes, the PostgreSQL cluster's processes and this "
        "client process, from the barrier to the run's end, per measured submission. "
        "machine busy: share of all cores' time in use. ceiling: usable cores × 1000 ÷ "
        "total, the submits/s the cores would carry at this cost if nothing else ran.",
        highlight=False,
    )


def print_results(results: dict[str, Any], config: dict[str, Any]) -> None:
    throughput = Table(
        title=f"$submit max throughput: {config['submissions']} submissions per run, "
        f"{config['concurrency']} client threads, {config['rounds']} rounds"
    )
    throughput.add_column("Backend")
    throughput.add_column("gateway submits/s", justify="right")
    throughput.add_column("baseline submits/s", justify="right")
    throughput.add_column("gateway/baseline", justify="right")
    throughput.add_column("ratio by round", justify="right")
    throughput.add_column(f"target ≥ {TARGET_SUBMITS_PER_SECOND:.0f}/s", justify="center")
    for backend, result in results.items():
        figures = result["throughput"]
        rate = figures["gateway"]["submits_per_second"]
        throughput.add_row(
            backend,
            f"{rate:.1f}",
            f"{figures['baseline']['submits_per_second']:.1f}",
            f"[bold]{figures['ratio_median']:.3f}[/]",
            ", ".join(f"{r:.3f}" for r in figures["ratio_by_round"]),
            _verdict(rate >= TARGET_SUBMITS_PER_SECOND),
        )
    console.print(throughput)
    console.print(
        "submits/s: median over rounds. gateway/baseline: median of the per-round ratios.",
        highlight=False,
    )
    print_cpu(results)

    closed = Table(title="Latency per submission under max load, ms (closed loop, rounds pooled)")
    closed.add_column("Backend")
    closed.add_column("Server")
    for cut in ("p50", "p95", "p99", "max"):
        closed.add_column(cut, justify="right")
    for backend, result in results.items():
        for target in ("gateway", "baseline"):
            cuts = result["throughput"][target]["latency_ms"]
            closed.add_row(
                backend,
                target,
                *(f"{cuts[c]:.1f}" for c in ("p50", "p95", "p99", "max")),
                end_section=target == "baseline",
            )
    console.print(closed)

    fixed = Table(
        title=f"Latency at a fixed rate: open loop, {config['rate']:g} submits/s for "
        f"{config['rate_seconds']:g} s per run, {config['rounds']} rounds pooled, ms"
    )
    fixed.add_column("Backend")
    fixed.add_column("Server")
    for cut in ("p50", "p95", "p99", "max"):
        fixed.add_column(cut, justify="right")
    fixed.add_column("p99 by round", justify="right")
    fixed.add_column("achieved/s", justify="right")
    fixed.add_column("p50 / p99 ratio", justify="right")
    fixed.add_column(f"p99 < {TARGET_P99_MS:.0f} ms", justify="center")
    for backend, result in results.items():
        figures = result["rate"]
        for target in ("gateway", "baseline"):
            side = figures[target]
            cuts = side["latency_ms"]
            is_gateway = target == "gateway"
            fixed.add_row(
                backend,
                target,
                *(f"{cuts[c]:.1f}" for c in ("p50", "p95", "p99", "max")),
                ", ".join(f"{p:.0f}" for p in side["p99_by_round"]),
                ", ".join(f"{r:.1f}" for r in side["achieved_per_second_by_round"]),
                f"[bold]{figures['p50_ratio_median']:.1f} / {figures['p99_ratio_median']:.1f}[/]"
                if is_gateway
                else "",
                (
                    _verdict(cuts["p99"] < TARGET_P99_MS)
                    if config["rate"] == TARGET_RATE
                    else f"n/a (at {TARGET_RATE:g}/s)"
                )
                if is_gateway
                else "",
                end_section=not is_gateway,
            )
    console.print(fixed)
    console.print(
        "Latency is counted from each request's scheduled send time. p50 / p99 ratio: "
        "gateway ÷ baseline, median of the per-round ratios.",
        highlight=False,
    )
    for backend, result in results.items():
        achieved = result["rate"]["gateway"]["achieved_per_second_by_round"]
        if min(achieved) < 0.95 * config["rate"]:
            console.print(
                f"[yellow]{backend}: the gateway did not keep up with {config['rate']:g} "
                f"submits/s (it completed {', '.join(f'{a:.1f}' for a in achieved)}/s), so "
                "requests queued and its latency figures at this rate are mostly waiting "
                "time. Run with a lower --rate to see the latency of a server that keeps up.",
                highlight=False,
            )
    for backend, result in results.items():
        counts = ", ".join(f"{k} {v}" for k, v in result["stored"].items())
        console.print(f"[bold]{backend}[/] database after the runs: {counts}", highlight=False)


# ---------------------------------------------------------------------------
# main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="ServiceRequest/$submit throughput and latency through the HTTP API, "
        "as a ratio against a bare FastAPI endpoint that stores the raw Bundle in the same "
        "database, measured in the same run.",
    )
    parser.add_argument(
        "--backend", choices=[*BACKENDS, "both"], default="postgresql", help="default: postgresql"
    )
    parser.add_argument(
        "--submissions", type=int, default=400, help="measured submissions per throughput run"
    )
    parser.add_argument(
        "--concurrency", type=int, default=8, help="client threads of the throughput runs"
    )
    parser.add_argument(
        "--warmup", type=int, default=40, help="unmeasured submissions before each run"
    )
    parser.add_argument(
        "--rate", type=float, default=TARGET_RATE, help="submits/s of the latency runs"
    )
    parser.add_argument(
        "--rate-seconds", type=float, default=10.0, help="length of each latency run"
    )
    parser.add_argument(
        "--rate-clients",
        type=int,
        default=32,
        help="client threads (connections) that send the latency runs' requests",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="baseline/gateway alternations per backend"
    )
    parser.add_argument(
        "--persons",
        type=int,
        default=5000,
        help="distinct listed persons the submissions cycle through",
    )
    parser.add_argument(
        "--server-processes",
        type=int,
        default=os.cpu_count() or 1,
        help="uvicorn processes of each server (default: one per core)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=1200,
        help="give up (with an error) when the whole run takes longer than this",
    )
    args = parser.parse_args(argv)
    if args.submissions < 10:
        parser.error("--submissions must be at least 10")
    if (
        min(args.concurrency, args.rounds, args.rate_clients, args.server_processes, args.persons)
        < 1
        or args.warmup < 0
    ):
        parser.error(
            "--concurrency, --rounds, --rate-clients, --server-processes, --persons must be "
            ">= 1, "
            "--warmup >= 0"
        )
    if args.rate <= 0 or args.rate_seconds <= 0 or args.rate * args.rate_seconds < 2:
        parser.error("--rate and --rate-seconds must be positive and give at least 2 requests")
    return args


def _terminate(signum: int, _frame: FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl-C, so every server, cluster and temp file is cleaned up.
    raise KeyboardInterrupt(f"signal {signum}")


def measure_backend(
    run: Servers, args: argparse.Namespace, backend: str, progress: Progress, deadline: float
) -> dict[str, Any]:
    closed: dict[str, list[ThroughputRun]] = {"gateway": [], "baseline": []}
    fixed: dict[str, list[RateRun]] = {"gateway": [], "baseline": []}
    rate_total = max(1, round(args.rate * args.rate_seconds))
    # The client's latency clock must not stop for its own garbage collector: this process
    # imported and seeded the whole gateway, and a full collection over that heap took
    # about 120 ms. The servers freeze theirs the same way (gateway.app).
    gc.collect()
    gc.freeze()
    for round_no in range(1, args.rounds + 1):
        refresh_statistics(run.engine)
        for target in (run.baseline, run.gateway):
            run.tokens.refresh()
            task = progress.add_task(
                f"{backend:<10} round {round_no} {target.name:<8} max",
                total=args.submissions,
                rate="",
            )
            result = run_throughput(
                target,
                round_no=round_no,
                submissions=args.submissions,
                warmup=args.warmup,
                concurrency=args.concurrency,
                progress=progress,
                task=task,
                deadline=deadline,
            )
            progress.update(task, rate=f"{result.per_second:7.1f} submits/s")
            closed[target.name].append(result)
        for target in (run.baseline, run.gateway):
            run.tokens.refresh()
            task = progress.add_task(
                f"{backend:<10} round {round_no} {target.name:<8} {args.rate:g}/s",
                total=rate_total,
                rate="",
            )
            fixed_run = run_rate(
                target,
                round_no=round_no,
                rate=args.rate,
                seconds=args.rate_seconds,
                clients=args.rate_clients,
                progress=progress,
                task=task,
                deadline=deadline,
            )
            cuts = percentiles(fixed_run.latency_ms)
            progress.update(task, rate=f"p50 {cuts['p50']:.1f} p99 {cuts['p99']:.1f} ms")
            fixed[target.name].append(fixed_run)
    return {
        "throughput": throughput_result(closed["gateway"], closed["baseline"]),
        "rate": rate_result(fixed["gateway"], fixed["baseline"]),
        "stored": stored_counts(run.engine),
    }


def benchmark(args: argparse.Namespace) -> int:
    configure_logging(LogFormat.CONSOLE, "WARNING")
    backends = list(BACKENDS) if args.backend == "both" else [args.backend]
    config = {
        "backends": backends,
        "submissions": args.submissions,
        "concurrency": args.concurrency,
        "warmup": args.warmup,
        "rate": args.rate,
        "rate_seconds": args.rate_seconds,
        "rate_clients": args.rate_clients,
        "rounds": args.rounds,
        "server_processes": args.server_processes,
        "kommun": KOMMUN,
        "persons": args.persons,
        "listed_at": PERSON.listed_at,
        "targets": {
            "submits_per_second_at_least": TARGET_SUBMITS_PER_SECOND,
            "p99_ms_below": TARGET_P99_MS,
            "p99_at_rate": TARGET_RATE,
        },
    }
    info = machine_info()
    deadline = time.monotonic() + args.max_seconds
    started = datetime.datetime.now(datetime.UTC)
    results: dict[str, Any] = {}
    skipped: dict[str, str] = {}

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[rate]}"),
        console=console,
    ) as progress:
        for backend in backends:
            with ExitStack() as stack:
                try:
                    if backend == "sqlite":
                        url = stack.enter_context(sqlite_database())
                    else:
                        url = stack.enter_context(postgres_database(info))
                except FileNotFoundError as error:
                    skipped[backend] = str(error)
                    progress.console.print(
                        f"[yellow]SKIPPED {backend}[/]: {error}. Install the Debian package "
                        "'postgresql' (or set KVGW_TEST_PG_BIN) to measure it."
                    )
                    continue
                run = stack.enter_context(servers(url, args.server_processes, args.persons))
                results[backend] = measure_backend(run, args, backend, progress, deadline)

    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print_machine(info)
    if results:
        print_results(results, config)
    if args.json:
        document = {
            "benchmark": "submit_throughput",
            "date": started.isoformat(timespec="seconds"),
            "duration_seconds": round(
                (datetime.datetime.now(datetime.UTC) - started).total_seconds(), 1
            ),
            "config": config,
            "machine": info,
            "results": results,
            "skipped": skipped,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        console.print(f"Figures written to {args.json}", highlight=False)
    return 0 if results else 2


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return benchmark(args)
    except KeyboardInterrupt:
        console.print("[red]Interrupted[/]; servers stopped and temporary files removed.")
        return 130


if __name__ == "__main__":
    sys.exit(main())
