"""store.baseline: a database from before Alembic (or none) arrives at the same schema."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from addon.audit.schema import COLUMNS
from addon.audit.writer import AuditWriter
from addon.errors import StateError
from addon.store import upgrade
from addon.store.baseline import state as old_state
from addon.store.revisions import KNOWN
from tests.test_audit import rec

ROUND1 = """CREATE TABLE audit (id INTEGER PRIMARY KEY, ts FLOAT, ref TEXT, user TEXT,
client_ip TEXT, machine_level INTEGER, user_level INTEGER, level INTEGER, method TEXT,
scheme TEXT, host TEXT, port INTEGER, path TEXT, status INTEGER, decision TEXT, rule TEXT,
categories TEXT, release_id INTEGER, bytes_in INTEGER, bytes_out INTEGER, duration_ms FLOAT)"""


def test_hole9_a_round1_audit_db_is_adopted_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    old = sqlite3.connect(path)
    old.execute(ROUND1)
    old.execute("INSERT INTO audit (ts, ref, \"user\", decision) VALUES (1, 'r1', 'ana', 'allow')")
    old.commit()
    old.close()
    w = AuditWriter(path, flush_interval=0.01)  # the writer's start brings it up to date
    w.submit(rec(1))
    assert w.close() == 0
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2  # the old counter too
    assert [r[1] for r in conn.execute("PRAGMA table_info(audit)")][1:] == list(COLUMNS)
    assert conn.execute("SELECT ref, source FROM audit ORDER BY id").fetchall() == [
        ("r1", None), ("ref1", "directory")]


def test_a_state_db_of_an_earlier_step_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    old = sqlite3.connect(path, isolation_level=None)
    old_state.SQLITE_STEPS[0](old)
    old.execute("PRAGMA user_version = 1")
    old.execute("INSERT INTO sessions (ip, \"user\", since) VALUES ('10.0.0.5', 'ana', 1)")
    old.close()
    assert upgrade.upgrade_sqlite(path, "state") == len(KNOWN["state"])
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(old_state.SQLITE_STEPS)
    assert conn.execute("SELECT \"user\" FROM sessions").fetchall() == [("ana",)]
    assert "ref" in {r[1] for r in conn.execute("PRAGMA table_info(releases)")}


def test_a_postgresql_of_an_earlier_step_keeps_its_rows(postgres) -> None:  # noqa: ANN001
    import psycopg

    url = postgres.create_database(f"baseline_{os.getpid()}")
    with psycopg.connect(url, autocommit=True) as old:
        old.execute(old_state.PG_STEPS[0])
        old.execute("CREATE TABLE guarita_schema (name TEXT PRIMARY KEY, version INTEGER)")
        old.execute("INSERT INTO guarita_schema VALUES ('state', 1)")
        old.execute("INSERT INTO sessions (ip, \"user\", since) VALUES ('10.0.0.5', 'ana', 1)")
    assert upgrade.upgrade_pg(url) == {"state": len(KNOWN["state"]), "audit": len(KNOWN["audit"])}
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT name, version FROM guarita_schema ORDER BY name").fetchall() \
            == [("audit", 1), ("state", len(old_state.PG_STEPS))]
        assert conn.execute("SELECT \"user\" FROM sessions").fetchall() == [("ana",)]
        assert conn.execute("SELECT count(*) FROM console_sessions").fetchone() == (0,)


def test_a_counter_beyond_the_frozen_steps_is_a_newer_guarita_and_changes_nothing(
        tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    sqlite3.connect(path).execute("PRAGMA user_version = 7")
    with pytest.raises(StateError, match="schema version 7 is newer than this guarita knows"):
        upgrade.upgrade_sqlite(path, "state")
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT name FROM sqlite_master").fetchall() == []  # rolled back
