"""`guarita db upgrade` on the embedded SQLite files (PostgreSQL: tests/test_cluster_e2e.py)."""

from __future__ import annotations

import sqlite3

from tests.conftest import Workspace


def test_upgrade_makes_both_schemas_once_and_then_says_up_to_date(ws: Workspace) -> None:
    from addon.state.db import STEPS

    first = ws.run("db", "upgrade", check=True).stdout.splitlines()
    n = len(STEPS)
    assert first[0].startswith("state: ") and first[0].endswith(f"state.db: {n} steps applied "
                                                                f"(schema version {n})")
    assert first[1].startswith("audit: ") and "audit.db: 2 steps applied" in first[1]
    again = ws.run("db", "upgrade", check=True).stdout
    assert again.count("up to date") == 2
    conn = sqlite3.connect(ws.var / "audit.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2


def test_a_database_from_a_newer_guarita_is_refused_in_one_line(ws: Workspace) -> None:
    ws.var.mkdir()
    sqlite3.connect(ws.var / "state.db").execute("PRAGMA user_version = 99")
    cp = ws.run("db", "upgrade")
    assert cp.returncode == 2 and "schema version 99 is newer" in cp.stderr
    assert "Traceback" not in cp.stderr and len(cp.stderr.strip().splitlines()) == 1
