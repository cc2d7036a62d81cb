"""`guarita db backup FILE`: one consistent file of the SQLite databases while the proxy writes."""

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
from tests.support.store import made


def test_a_copy_taken_under_writes_is_whole_and_checks(ws: Workspace) -> None:
    paths = load_policy(ws.config, ws.root, env={}).paths
    with made(paths) as conn:
        sessions.login(conn, "servidor", "10.0.0.5", None, "ti")
    audit = open_audit(paths.audit_file)
    row = [None] * INSERT.count("?")
    stop, written = threading.Event(), threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set() or n < 2000:
            with audit:
                audit.executemany(INSERT, [[float(n + i), *row[1:]] for i in range(100)])
            n += 100
            written.set()

    writer = threading.Thread(target=write)
    writer.start()
    assert written.wait(10)  # the copy is taken while batches are being committed
    try:
        lines = backup(paths, ws.root / "copias" / "guarita.db")
    finally:
        stop.set()
        writer.join()
    copied = sqlite3.connect(ws.root / "copias" / "guarita.db")
    n = copied.execute("SELECT count(*) FROM audit").fetchone()[0]
    assert n % 100 == 0 and n > 0  # whole batches only: one committed state
    assert lines == [f"{ws.root / 'copias' / 'guarita.db'}: " + lines[0].split(": ", 1)[1]]
    assert "sessions 1" in lines[0] and f"audit {n}" in lines[0]
    assert copied.execute("SELECT \"user\" FROM sessions").fetchall() == [("servidor",)]
    indexes = {r[0] for r in copied.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "idx_audit_user_ts" in indexes and "blocks_active" in indexes
    assert copied.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert sorted(p.name for p in (ws.root / "copias").iterdir()) == ["guarita.db"]


def test_backup_refuses_postgresql_itself_and_folders(ws: Workspace) -> None:
    paths = load_policy(ws.config, ws.root, env={"GUARITA_DATABASE_URL": "postgresql://g@db/g"}).paths
    with pytest.raises(StateError, match="pg_dump"):
        backup(paths, ws.root / "x.db")
    local = load_policy(ws.config, ws.root, env={}).paths
    with pytest.raises(StateError, match="no state.db or audit.db"):
        backup(local, ws.root / "x.db")
    made(local).close()
    with pytest.raises(StateError, match="would overwrite the database itself"):
        backup(local, db.state_path(local.state_dir))
    with pytest.raises(StateError, match="is a folder"):
        backup(local, ws.root)


def test_the_cli_backs_up_into_one_file_and_replaces_it(ws: Workspace) -> None:
    ws.run("session", "login", "servidor", "10.0.0.9", check=True)
    target = ws.root / "backup.db"
    first = ws.run("db", "backup", str(target), check=True).stdout.splitlines()
    assert len(first) == 1 and "sessions 1" in first[0]
    ws.run("session", "login", "membro", "10.0.0.10", check=True)
    ws.run("db", "backup", str(target), check=True)
    assert sqlite3.connect(target).execute("SELECT count(*) FROM sessions").fetchone()[0] == 2
