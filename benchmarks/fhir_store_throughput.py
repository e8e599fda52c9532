#!/usr/bin/env python
"""Create+read throughput of the FHIR store through the real HTTP API, as a ratio.

Each iteration POSTs a synthetic Patient to ``/fhir/Patient`` and GETs it back by id.
The same client loop is run against two servers, both uvicorn on 127.0.0.1 in this
process:

* the *gateway*: ``gateway.app.create_app`` (demo identity) on a freshly migrated
  SQLite file or a throwaway PostgreSQL cluster;
* the *baseline*: a bare FastAPI app with the same two routes that keeps the resources
  in a dict — the same HTTP stack with validation, storage and audit bypassed.

Baseline and gateway runs alternate (``--rounds``) and the median of the per-round
ratios gateway/baseline is reported, so that the figure says how much of the HTTP
stack's capacity the FHIR store keeps, and is comparable across machines.

Run from the repository root: ``make bench`` or
``.venv/bin/python benchmarks/fhir_store_throughput.py --help``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, Request
from pydantic import SecretStr
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
from starlette.responses import Response

# Run as a file (``python benchmarks/fhir_store_throughput.py``) sys.path[0] is
# benchmarks/; the repository root is needed for ``gateway`` and ``tests.support``.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.app import create_app
from gateway.logging import configure_logging
from gateway.settings import AuthMode, LogFormat, Settings
from gateway.store.db import make_engine
from gateway.store.migrate import upgrade
from gateway.validation.identifiers import SYSTEM_PERSONNUMMER, synthetic_personnummer
from tests.support.live_server import free_port, serve
from tests.support.postgres_cluster import find_bin_dir, start_cluster, stop_cluster

FHIR_JSON = "application/fhir+json"
CLIENT_HEADERS = {"accept": FHIR_JSON}
POST_HEADERS = {"content-type": FHIR_JSON}
BACKENDS = ("sqlite", "postgresql")
PG_DATABASE = "kvgw_bench"
LOOPBACK = "127.0.0.1"

# Piped (make bench > file) rich would wrap at 80 columns; the tables need a little more.
console = Console() if sys.stdout.isatty() else Console(width=110)


# ---------------------------------------------------------------------------
# workload


def synthetic_patient(serial: int) -> bytes:
    """A Patient with a valid, generated personnummer; distinct for each serial."""
    birth = datetime.date(1940, 1, 1) + datetime.timedelta(days=serial % 20_000)
    number = synthetic_personnummer(birth, serial % 1000)
    resource = {
        "resourceType": "Patient",
        "identifier": [{"system": SYSTEM_PERSONNUMMER, "value": number}],
        "name": [{"family": "Benchmarksson", "given": ["Bänk"]}],
        "gender": "female" if serial % 2 == 0 else "male",
        "birthDate": birth.isoformat(),
    }
    return json.dumps(resource).encode()


class Serials:
    """Thread-safe source of distinct Patient serials for one server's lifetime."""

    def __init__(self) -> None:
        self._next = 0
        self._lock = threading.Lock()

    def take(self) -> int:
        with self._lock:
            self._next += 1
            return self._next


@dataclass
class RunResult:
    target: str
    round: int
    pairs: int
    seconds: float
    create_ms: list[float] = field(repr=False)
    read_ms: list[float] = field(repr=False)

    @property
    def pairs_per_second(self) -> float:
        return self.pairs / self.seconds


def one_pair(client: httpx.Client, serial: int) -> tuple[float, float]:
    """POST a Patient, GET it back; the two latencies in milliseconds."""
    body = synthetic_patient(serial)
    start = time.perf_counter()
    created = client.post("/fhir/Patient", content=body, headers=POST_HEADERS)
    created_at = time.perf_counter()
    if created.status_code != 201:
        raise RuntimeError(f"create answered {created.status_code}: {created.text[:500]}")
    res_id = created.json()["id"]
    read_start = time.perf_counter()
    read = client.get(f"/fhir/Patient/{res_id}")
    read_at = time.perf_counter()
    if read.status_code != 200 or read.json().get("id") != res_id:
        raise RuntimeError(f"read answered {read.status_code}: {read.text[:500]}")
    return (created_at - start) * 1000, (read_at - read_start) * 1000


def run_load(
    base_url: str,
    *,
    target: str,
    round_no: int,
    iterations: int,
    warmup: int,
    concurrency: int,
    serials: Serials,
    progress: Progress,
    task: TaskID,
    deadline: float,
) -> RunResult:
    """``concurrency`` threads, each with its own keep-alive client: warm up, then together
    run ``iterations`` create+read pairs. Wall time is from the barrier to the last pair."""
    lock = threading.Lock()
    remaining = iterations
    create_ms: list[float] = []
    read_ms: list[float] = []
    finished: list[float] = []
    errors: list[BaseException] = []
    stop = threading.Event()
    started: list[float] = []
    barrier = threading.Barrier(concurrency, action=lambda: started.append(time.perf_counter()))
    warm_share = max(1, -(-warmup // concurrency)) if warmup else 0

    def check_deadline() -> None:
        if time.monotonic() > deadline:
            raise TimeoutError("the benchmark ran past --max-seconds")

    def worker() -> None:
        nonlocal remaining
        try:
            with httpx.Client(
                base_url=base_url,
                headers=CLIENT_HEADERS,
                timeout=30.0,
                trust_env=False,  # never a proxy: traffic stays on 127.0.0.1
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            ) as client:
                for _ in range(warm_share):
                    check_deadline()
                    one_pair(client, serials.take())
                barrier.wait()
                while not stop.is_set():
                    check_deadline()
                    with lock:
                        if remaining == 0:
                            break
                        remaining -= 1
                    create, read = one_pair(client, serials.take())
                    with lock:
                        create_ms.append(create)
                        read_ms.append(read)
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
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.1)  # short waits, so Ctrl-C is seen at once
    finally:
        stop.set()
        barrier.abort()
        for thread in threads:
            thread.join(timeout=35)
    if errors:
        raise RuntimeError(f"{target} run failed: {errors[0]!r}") from errors[0]
    return RunResult(
        target=target,
        round=round_no,
        pairs=len(create_ms),
        seconds=max(finished) - started[0],
        create_ms=create_ms,
        read_ms=read_ms,
    )


# ---------------------------------------------------------------------------
# the two servers


async def _baseline_body(request: Request) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(await request.body())
    return parsed


# Module level: FastAPI resolves the (postponed) annotation in the module's namespace.
BaselineBody = Annotated[dict[str, Any], Depends(_baseline_body)]


def baseline_app() -> FastAPI:
    """The same two routes over the same HTTP stack, storage and validation bypassed.

    Shaped like the gateway's routes: the body is read by an async dependency and the
    route itself is a plain function that FastAPI runs in its thread pool.
    """
    app = FastAPI(title="baseline")
    resources: dict[str, dict[str, Any]] = {}

    @app.post("/fhir/Patient", status_code=201)
    def create(request: Request, body: BaselineBody) -> Response:
        res_id = str(uuid.uuid4())
        body["id"] = res_id
        resources[res_id] = body
        return Response(
            json.dumps(body),
            status_code=201,
            media_type=FHIR_JSON,
            headers={"Location": f"{request.base_url}fhir/Patient/{res_id}"},
        )

    @app.get("/fhir/Patient/{res_id}")
    def read(res_id: str) -> Response:
        resource = resources.get(res_id)
        if resource is None:
            return Response(status_code=404)
        return Response(json.dumps(resource), media_type=FHIR_JSON)

    return app


@contextmanager
def gateway_server(database_url: str) -> Iterator[str]:
    """The real gateway, demo identity, on a free loopback port; yields its base URL."""
    port = free_port()
    settings = Settings(
        _env_file=None,  # a developer's .env must not change the benchmark
        auth_mode=AuthMode.DEMO,
        database_url=SecretStr(database_url),
        public_base_url=f"http://{LOOPBACK}:{port}",
        log_format=LogFormat.CONSOLE,
        log_level="WARNING",
        delivery_worker_in_process=False,  # no outbox poller competing for the CPU
    )
    engine = make_engine(database_url, sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    try:
        with serve(create_app(settings, engine=engine), port) as base_url:
            yield base_url
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
        info["postgresql_bin"] = str(cluster.bin_dir)
        url = cluster.url(PG_DATABASE)
        upgrade(url)
        yield url
    finally:
        stop_cluster(cluster)


# ---------------------------------------------------------------------------
# reporting


def percentiles(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": round(cuts[49], 2), "p95": round(cuts[94], 2), "p99": round(cuts[98], 2)}


def summarise(runs: list[RunResult]) -> dict[str, Any]:
    create = [ms for run in runs for ms in run.create_ms]
    read = [ms for run in runs for ms in run.read_ms]
    return {
        "pairs_per_second": round(statistics.median(r.pairs_per_second for r in runs), 1),
        "pairs_per_second_by_round": [round(r.pairs_per_second, 1) for r in runs],
        "pairs_per_round": runs[0].pairs,
        "create_ms": percentiles(create),
        "read_ms": percentiles(read),
    }


def backend_result(gateway: list[RunResult], baseline: list[RunResult]) -> dict[str, Any]:
    ratios = [
        g.pairs_per_second / b.pairs_per_second for g, b in zip(gateway, baseline, strict=True)
    ]
    return {
        "gateway": summarise(gateway),
        "baseline": summarise(baseline),
        "ratio_by_round": [round(r, 4) for r in ratios],
        "ratio_median": round(statistics.median(ratios), 4),
    }


def _dist(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


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
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
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
    console.print(
        f"[bold]Machine[/]: {info['cpu']}; {info['cores']} cores ({info['usable_cores']} usable), "
        f"{info['memory']}; load average {info['load_average_at_start']} at start, "
        f"{info.get('load_average_at_end', '?')} at end\n"
        f"[bold]Python[/]: {info['python']} on {info['platform']}\n"
        f"[bold]Packages[/]: {packages}\n"
        f"[bold]SQLite[/]: {info['sqlite']}"
        + (
            f"; [bold]PostgreSQL[/]: {info['postgresql_server']} ({info['postgresql_bin']})"
            if "postgresql_server" in info
            else ""
        ),
        highlight=False,
    )


def print_results(results: dict[str, Any], config: dict[str, Any]) -> None:
    throughput = Table(
        title=f"Create+read throughput: {config['iterations']} pairs per run, "
        f"{config['rounds']} rounds, {config['concurrency']} client threads"
    )
    throughput.add_column("Backend")
    throughput.add_column("gateway pairs/s", justify="right")
    throughput.add_column("baseline pairs/s", justify="right")
    throughput.add_column("gateway/baseline", justify="right")
    throughput.add_column("ratio by round", justify="right")
    for backend, result in results.items():
        throughput.add_row(
            backend,
            f"{result['gateway']['pairs_per_second']:.1f}",
            f"{result['baseline']['pairs_per_second']:.1f}",
            f"[bold]{result['ratio_median']:.3f}[/]",
            ", ".join(f"{r:.3f}" for r in result["ratio_by_round"]),
        )
    latency = Table(title="Latency per request, ms (all rounds pooled)")
    latency.add_column("Backend")
    latency.add_column("Server")
    for kind in ("create", "read"):
        for cut in ("p50", "p95", "p99"):
            latency.add_column(f"{kind} {cut}", justify="right")
    for backend, result in results.items():
        for target in ("gateway", "baseline"):
            figures = result[target]
            latency.add_row(
                backend,
                target,
                *(f"{figures['create_ms'][c]:.1f}" for c in ("p50", "p95", "p99")),
                *(f"{figures['read_ms'][c]:.1f}" for c in ("p50", "p95", "p99")),
                end_section=target == "baseline",
            )
    console.print(throughput)
    console.print(
        "pairs/s: median over rounds. gateway/baseline: median of the per-round ratios.",
        highlight=False,
    )
    console.print(latency)


# ---------------------------------------------------------------------------
# main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="FHIR store create+read throughput through the HTTP API, as a ratio "
        "against a bare FastAPI baseline measured in the same run.",
    )
    parser.add_argument(
        "--backend", choices=[*BACKENDS, "both"], default="both", help="default: both"
    )
    parser.add_argument("--iterations", type=int, default=300, help="measured pairs per run")
    parser.add_argument("--warmup", type=int, default=40, help="unmeasured pairs before each run")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads")
    parser.add_argument(
        "--rounds", type=int, default=5, help="baseline/gateway alternations per backend"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=900,
        help="give up (with an error) when the whole run takes longer than this",
    )
    args = parser.parse_args(argv)
    if args.iterations < 10:
        parser.error("--iterations must be at least 10")
    if args.concurrency < 1 or args.rounds < 1 or args.warmup < 0:
        parser.error("--concurrency and --rounds must be >= 1, --warmup >= 0")
    return args


def _terminate(signum: int, _frame: FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl-C, so every server, cluster and temp file is cleaned up.
    raise KeyboardInterrupt(f"signal {signum}")


def benchmark(args: argparse.Namespace) -> int:
    configure_logging(LogFormat.CONSOLE, "WARNING")
    backends = list(BACKENDS) if args.backend == "both" else [args.backend]
    config = {
        "backends": backends,
        "iterations": args.iterations,
        "warmup": args.warmup,
        "concurrency": args.concurrency,
        "rounds": args.rounds,
    }
    info = machine_info()
    deadline = time.monotonic() + args.max_seconds
    started = datetime.datetime.now(datetime.UTC)
    results: dict[str, Any] = {}
    skipped: dict[str, str] = {}

    with (
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[rate]}"),
            console=console,
        ) as progress,
        serve(baseline_app()) as baseline_url,
    ):
        baseline_serials = Serials()
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
                gateway_url = stack.enter_context(gateway_server(url))
                gateway_serials = Serials()
                runs: dict[str, list[RunResult]] = {"gateway": [], "baseline": []}
                for round_no in range(1, args.rounds + 1):
                    for target, base_url, serials in (
                        ("baseline", baseline_url, baseline_serials),
                        ("gateway", gateway_url, gateway_serials),
                    ):
                        task = progress.add_task(
                            f"{backend:<10} round {round_no} {target:<8}",
                            total=args.iterations,
                            rate="",
                        )
                        run = run_load(
                            base_url,
                            target=target,
                            round_no=round_no,
                            iterations=args.iterations,
                            warmup=args.warmup,
                            concurrency=args.concurrency,
                            serials=serials,
                            progress=progress,
                            task=task,
                            deadline=deadline,
                        )
                        progress.update(task, rate=f"{run.pairs_per_second:7.1f} pairs/s")
                        runs[target].append(run)
                results[backend] = backend_result(runs["gateway"], runs["baseline"])

    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print_machine(info)
    if results:
        print_results(results, config)
    if args.json:
        document = {
            "benchmark": "fhir_store_throughput",
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
