"""A throw-away PostgreSQL (Debian `postgresql`): `initdb` + `pg_ctl` on a loopback port.

The server runs as a plain process with its data in a temporary folder, TCP on
127.0.0.1 only (no Unix socket). PostgreSQL refuses to run as root: under root the
cluster belongs to Debian's `postgres` user and its commands run through `runuser`.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


def bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def available() -> bool:
    return bindir() is not None and (os.geteuid() != 0 or shutil.which("runuser") is not None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Postgres:
    data: Path
    port: int
    bin: Path

    def _as_owner(self, *cmd: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else list(cmd)

    @property
    def admin_url(self) -> str:
        return f"postgresql://guarita@127.0.0.1:{self.port}/postgres"

    def url(self, database: str = "guarita") -> str:
        return f"postgresql://guarita@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        subprocess.run(self._as_owner(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.data / "log"), "-w",
            "-t", "60", "-o", f"-p {self.port} -c listen_addresses=127.0.0.1 "
            "-c unix_socket_directories='' -c fsync=off -c full_page_writes=off "
            "-c max_connections=200", "start"), check=True, capture_output=True)

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(self._as_owner(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode,
                                      "-w", "stop"), capture_output=True)

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.data.parent, ignore_errors=True)


def start() -> Postgres:
    b = bindir()
    assert b is not None
    root = Path(tempfile.mkdtemp(prefix="guarita-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        os.chmod(root, 0o755)
        shutil.chown(root, "postgres", "postgres")
    pg = Postgres(data, _free_port(), b)
    subprocess.run(pg._as_owner(str(b / "initdb"), "-D", str(data), "-U", "guarita",
                                "--auth=trust", "-E", "UTF8", "--no-locale"),
                   check=True, capture_output=True)
    deadline = time.monotonic() + 30
    while True:
        try:
            pg.start()
            return pg
        except subprocess.CalledProcessError:
            if time.monotonic() > deadline:
                raise
            pg.port = _free_port()  # taken between the probe and the start: another port
