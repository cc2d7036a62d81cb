"""audit.schema: the log's columns, the writer's connection, and Datasette's local view."""

from __future__ import annotations

from pathlib import Path

import pytest

from addon.audit.schema import COLUMNS, open_audit
from addon.audit.writer import AuditWriter
from addon.store import seam
from tests.support.store import made
from tests.test_audit import rec


def test_the_admin_history_refuses_to_change(tmp_path: Path) -> None:
    conn = made(tmp_path)
    with pytest.raises(seam.DatabaseError, match="append-only"):
        conn.execute("INSERT INTO admin_log (at, operator, action, subject) VALUES (1,'a','b','c')")
        conn.execute("DELETE FROM admin_log")


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
    """COLUMN_TYPES may only grow at the end, and the frozen first revision keeps its own
    copy of what shipped (a new column never edits a step that shipped)."""
    from addon.audit.schema import COLUMN_TYPES
    from addon.store.baseline import audit

    assert COLUMNS[:len(SHIPPED)] == SHIPPED and len(COLUMN_TYPES) == len(COLUMNS)
    assert tuple(name for name, _ in audit.SHIPPED) == SHIPPED
    assert COLUMN_TYPES[:len(SHIPPED)] == audit.SHIPPED


