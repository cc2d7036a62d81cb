"""`guarita db backup`: a consistent copy of the SQLite databases while the proxy writes."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from addon.audit.schema import INSERT, open_audit
from addon.errors import StateError
from addon.settings.load import load_policy
from addon.state import db, sessions
from addon.store.backup import backup
from tests.conftest import Workspace


def test_a_copy_taken_under_writes_is_whole_and_checks(ws: Workspace) -> None:
    paths = load_policy(ws.config, ws.root, env={}).paths
    with db.connect(paths) as conn:
        sessions.login(conn, "servidor", "10.0.0.5", None, "ti")
    audit = open_audit(paths.audit_file)
    row = [None] * INSERT.count("?")
    stop = threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set() or n < 2000:
            with audit:
                audit.executemany(INSERT, [[float(n + i), *row[1:]] for i in range(100)])
            n += 100

    writer = threading.Thread(target=write)
    writer.start()
    try:
        lines = backup(paths, ws.root / "copia")
    finally:
        stop.set()
        writer.join()
    assert lines[0].startswith(f"{db.state_path(paths.state_dir)} -> ") and "sessions 1" in lines[0]
    copied = sqlite3.connect(ws.root / "copia" / "audit.db")
    n = copied.execute("SELECT count(*) FROM audit").fetchone()[0]
    assert n % 100 == 0 and f"audit {n}" in lines[1]  # whole batches only: one committed state
    assert copied.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_backup_refuses_postgresql_and_itself(ws: Workspace) -> None:
    paths = load_policy(ws.config, ws.root, env={"GUARITA_DATABASE_URL": "postgresql://g@db/g"}).paths
    with pytest.raises(StateError, match="pg_dump"):
        backup(paths, ws.root / "x")
    local = load_policy(ws.config, ws.root, env={}).paths
    db.connect(local).close()
    with pytest.raises(StateError, match="would overwrite the database itself"):
        backup(local, local.state_dir)


def test_the_cli_prints_one_line_per_database(ws: Workspace) -> None:
    ws.run("session", "login", "servidor", "10.0.0.9", check=True)
    cp = ws.run("db", "backup", str(ws.root / "copia"), check=True)
    lines = cp.stdout.splitlines()
    assert len(lines) == 2 and "sessions 1" in lines[0] and "audit.db" in lines[1]
