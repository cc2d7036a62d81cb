"""audit.schema and store.migrate: an old audit.db gains new columns; a newer one is refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from addon.audit.schema import COLUMNS, STEPS, open_audit
from addon.audit.writer import AuditWriter
from addon.errors import StateError
from addon.state import db as state_db
from tests.test_audit import rec

ROUND1 = """CREATE TABLE audit (id INTEGER PRIMARY KEY, ts FLOAT, ref TEXT, user TEXT,
client_ip TEXT, machine_level INTEGER, user_level INTEGER, level INTEGER, method TEXT,
scheme TEXT, host TEXT, port INTEGER, path TEXT, status INTEGER, decision TEXT, rule TEXT,
categories TEXT, release_id INTEGER, bytes_in INTEGER, bytes_out INTEGER, duration_ms FLOAT)"""


def test_hole9_a_round1_audit_db_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    old = sqlite3.connect(path)
    old.execute(ROUND1)
    old.execute("INSERT INTO audit (ts, ref, user, decision) VALUES (1, 'r1', 'ana', 'allow')")
    old.commit()
    old.close()
    w = AuditWriter(path, flush_interval=0.01)
    w.submit(rec(1))
    assert w.close() == 0
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(STEPS)
    cols = [r[1] for r in conn.execute("PRAGMA table_info(audit)")]
    assert cols[1:] == list(COLUMNS)
    assert conn.execute("SELECT ref, source FROM audit ORDER BY id").fetchall() == [
        ("r1", None), ("ref1", "directory")]


def test_a_database_from_a_newer_guarita_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    sqlite3.connect(path).execute(f"PRAGMA user_version = {len(STEPS) + 1}")
    with pytest.raises(StateError, match="newer"):
        open_audit(path)


def test_opening_twice_migrates_once(tmp_path: Path) -> None:
    open_audit(tmp_path / "a.db").close()
    conn = open_audit(tmp_path / "a.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(STEPS)


def test_state_db_is_versioned_too(tmp_path: Path) -> None:
    conn = state_db.connect(tmp_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(state_db.STEPS)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("INSERT INTO admin_log (at, operator, action, subject) VALUES (1,'a','b','c')")
        conn.execute("DELETE FROM admin_log")


def test_a_failing_step_leaves_the_database_at_the_last_good_version(tmp_path: Path) -> None:
    from addon.store.migrate import migrate

    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None)

    def good(c: sqlite3.Connection) -> None:
        c.execute("CREATE TABLE t (a)")

    def bad(c: sqlite3.Connection) -> None:
        c.execute("ALTER TABLE t ADD COLUMN b")
        raise RuntimeError("power cut")

    with pytest.raises(RuntimeError):
        migrate(conn, (good, bad), "x.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert [r[1] for r in conn.execute("PRAGMA table_info(t)")] == ["a"]  # b rolled back


def test_a_step_another_process_applied_meanwhile_is_skipped(tmp_path: Path) -> None:
    from addon.store.migrate import migrate

    path = tmp_path / "x.db"
    conn = sqlite3.connect(path, isolation_level=None)
    calls: list[int] = []

    def step(c: sqlite3.Connection) -> None:
        calls.append(1)
        c.execute("CREATE TABLE t (a)")

    class Racing:
        """Reads version 0 first, as if another process migrated right after."""

        def __init__(self) -> None:
            self.first = True

        def __getattr__(self, name: str):  # noqa: ANN204
            return getattr(conn, name)

        def execute(self, sql: str, *args):  # noqa: ANN002, ANN202
            if sql == "PRAGMA user_version" and self.first:
                self.first = False
                other = sqlite3.connect(path, isolation_level=None)
                assert migrate(other, (step,), "x.db") == 1
                other.close()
                return conn.execute("SELECT 0")
            return conn.execute(sql, *args)

    assert migrate(Racing(), (step,), "x.db") == 1  # type: ignore[arg-type]
    assert calls == [1]  # applied once, by the other process


def test_art9_par9_datasette_questions_run_on_a_real_log_in_local_time(tmp_path: Path) -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    import yaml

    from addon.audit.schema import local_view
    from tests.conftest import ROOT

    w = AuditWriter(tmp_path / "audit.db", flush_interval=0.01)
    ts = dt.datetime(2026, 11, 24, 14, 30, tzinfo=ZoneInfo("America/Sao_Paulo")).timestamp()
    w.submit(rec(1, user="ana", host="www.pornhub.com", decision="block",
                 rule="category.blocked", cats=("adult",), ts=ts))
    assert w.close() == 0
    conn = open_audit(tmp_path / "audit.db")
    local_view(conn, ZoneInfo("America/Sao_Paulo"), now=ts)
    assert conn.execute("SELECT local_time FROM audit_local").fetchone()[0] == \
        "2026-11-24 14:30:00"
    meta = yaml.safe_load((ROOT / "config" / "datasette.yml").read_text())
    params = {"usuario": "ANA", "desde": "2026-11-24", "ate": "2026-11-25",
              "site": "pornhub.com", "referencia": "ref1"}
    for name, q in meta["databases"]["audit"]["queries"].items():
        rows = conn.execute(q["sql"], params).fetchall()
        assert len(rows) == 1, name  # every canned question finds the one record


SHIPPED = ("ts", "ref", "user", "client_ip", "machine_level", "user_level", "level", "method",
           "scheme", "host", "port", "path", "status", "decision", "rule", "categories",
           "release_id", "bytes_in", "bytes_out", "duration_ms", "source")


def test_the_columns_that_shipped_never_move() -> None:
    """Both engines' shipped steps are prefixes of COLUMN_TYPES: it may only grow at the end."""
    from addon.audit.schema import COLUMN_TYPES, PG_FIRST, SQLITE_FIRST

    assert COLUMNS[:len(SHIPPED)] == SHIPPED and len(COLUMN_TYPES) == len(COLUMNS)
    assert (SQLITE_FIRST, PG_FIRST) == (20, 21) and len(STEPS) == 1 + len(COLUMNS) - SQLITE_FIRST


def test_a_column_added_the_documented_way_reaches_an_old_sqlite_log(tmp_path: Path) -> None:
    from addon.audit.schema import COLUMN_TYPES, sqlite_steps
    from addon.store.migrate import migrate

    path = tmp_path / "audit.db"
    open_audit(path).close()  # a log at today's version, with a record in it
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("INSERT INTO audit (ts, ref) VALUES (1, 'antes')")
    grown = sqlite_steps((*COLUMN_TYPES, ("witness", str)))
    assert migrate(conn, grown, str(path)) == 1
    conn.execute("INSERT INTO audit (ts, ref, witness) VALUES (2, 'depois', 'w1')")
    assert conn.execute("SELECT ref, witness FROM audit ORDER BY ts").fetchall() == [
        ("antes", None), ("depois", "w1")]
    assert migrate(conn, grown, str(path)) == 0
