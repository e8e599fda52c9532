"""A throwaway PostgreSQL cluster for the test session, from the Debian server binaries.

initdb refuses to run as root, so as root the cluster is created and started as the
``postgres`` user (runuser), in a directory that user owns, on a free loopback port.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Cluster:
    host: str
    port: int
    user: str
    data_dir: Path
    bin_dir: Path

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"


def find_bin_dir() -> Path | None:
    override = os.environ.get("KVGW_TEST_PG_BIN")
    if override:
        return Path(override)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _as_owner(command: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *command] if owner else command


def start_cluster() -> Cluster:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise FileNotFoundError("no PostgreSQL server binaries (initdb) found")
    owner = "postgres" if os.geteuid() == 0 else None
    base = Path(tempfile.mkdtemp(prefix="kvgw-pg-"))
    data_dir = base / "data"
    if owner:
        shutil.chown(base, user=owner)
    subprocess.run(
        _as_owner(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data_dir),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
            owner,
        ),
        check=True,
        capture_output=True,
    )
    port = _free_port()
    options = (
        f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    subprocess.run(
        _as_owner(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data_dir),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "-l",
                str(base / "server.log"),
                "start",
            ],
            owner,
        ),
        check=True,
        capture_output=True,
    )
    return Cluster("127.0.0.1", port, "postgres", data_dir, bin_dir)


def stop_cluster(cluster: Cluster) -> None:
    owner = "postgres" if os.geteuid() == 0 else None
    subprocess.run(
        _as_owner(
            [
                str(cluster.bin_dir / "pg_ctl"),
                "-D",
                str(cluster.data_dir),
                "-m",
                "immediate",
                "stop",
            ],
            owner,
        ),
        check=False,
        capture_output=True,
    )
    shutil.rmtree(cluster.data_dir.parent, ignore_errors=True)
