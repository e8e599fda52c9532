"""Where a run's CPU time went: per process tree, read from /proc (Linux only).

A throughput figure alone does not say what limits it. With the CPU seconds that the
servers, the database and the client spent during a run, divided by the requests of the
run, a reader sees the cost of one request, and how many requests per second the
machine's cores could carry at that cost: the ceiling the throughput runs against.

A process tree's time is the user and system time of every live process in it plus the
time of the children each has already reaped (so a worker or backend that exited during
the run still counts, through its parent).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def proc_readable() -> bool:
    return (PROC / "stat").exists()


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:  # gone, or not ours to read
        return None
    # The command name is in parentheses and may hold spaces: split after the last one.
    return raw.rsplit(")", 1)[1].split()


def parent_of(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def tree_seconds(root: int) -> float:
    """CPU seconds of ``root`` and all its descendants (and of what they reaped)."""
    children: dict[int, list[int]] = {}
    ticks: dict[int, int] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is None:
            continue
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        # utime, stime, cutime, cstime: fields 14-17 of stat, 11-14 after the name.
        ticks[pid] = sum(int(value) for value in fields[11:15])
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += ticks.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total / _TICKS


def machine_seconds() -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine since boot, over all cores."""
    first = (PROC / "stat").read_text().splitlines()[0].split()
    values = [int(v) for v in first[1:9]]  # user nice system idle iowait irq softirq steal
    idle = values[3] + values[4]
    return (sum(values) - idle) / _TICKS, sum(values) / _TICKS


@dataclass(frozen=True)
class CpuSample:
    server: float
    database: float
    client: float
    machine_busy: float
    machine_all: float


@dataclass(frozen=True)
class CpuShare:
    """CPU milliseconds per request of each part, and how busy the machine was."""

    server_ms: float
    database_ms: float
    client_ms: float
    machine_busy: float  # fraction of all cores' time

    @property
    def total_ms(self) -> float:
        return self.server_ms + self.database_ms + self.client_ms


class CpuMeter:
    """Samples before and after a run: the server's process tree, the database server's
    (None for an embedded database, whose time is the server's own) and this process."""

    def __init__(self, server_pid: int, database_pid: int | None) -> None:
        self.server_pid = server_pid
        self.database_pid = database_pid

    def sample(self) -> CpuSample:
        busy, every = machine_seconds()
        return CpuSample(
            server=tree_seconds(self.server_pid),
            database=tree_seconds(self.database_pid) if self.database_pid else 0.0,
            client=time.process_time(),
            machine_busy=busy,
            machine_all=every,
        )

    @staticmethod
    def share(before: CpuSample, after: CpuSample, requests: int) -> CpuShare:
        per = 1000 / max(requests, 1)
        spent = after.machine_all - before.machine_all
        return CpuShare(
            server_ms=round((after.server - before.server) * per, 2),
            database_ms=round((after.database - before.database) * per, 2),
            client_ms=round((after.client - before.client) * per, 2),
            machine_busy=round((after.machine_busy - before.machine_busy) / spent, 3)
            if spent > 0
            else 0.0,
        )
