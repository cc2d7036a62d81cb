"""The audit log in a real PostgreSQL: monthly partitions, COPY, pruning by dropping months."""

from __future__ import annotations

import calendar
from pathlib import Path

import pytest

from addon.audit import pg as pg_audit
from addon.audit import query
from addon.audit.schema import COLUMNS
from addon.audit.writer import AuditWriter
from addon.policy.paths import Paths
from addon.store import pg, ready, seam
from tests.test_audit import rec


def at(year: int, month: int, day: int) -> float:
    return float(calendar.timegm((year, month, day, 12, 0, 0)))


@pytest.fixture
def url(postgres, tmp_path: Path) -> str:  # noqa: ANN001
    return str(postgres.create_database(f"pg_{tmp_path.name}"[:60]))


def partitions(url: str) -> list[str]:
    conn = pg.connect(url)
    try:
        return [r[0] for r in conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'audit' ORDER BY 1")]
    finally:
        conn.close()


def test_month_bounds_cover_the_year_end() -> None:
    assert pg_audit.month_bounds(2026, 12) == (at(2026, 12, 1) - 43200, at(2027, 1, 1) - 43200)
    assert pg_audit.month_of(at(2026, 12, 31)) == (2026, 12)
    assert pg_audit.partition_name(2027, 1) == "audit_2027_01"


def test_each_month_is_a_partition_and_a_record_without_a_time_is_kept(url: str) -> None:
    w = AuditWriter(url, flush_interval=0.01)
    for i, (y, m) in enumerate([(2026, 10), (2026, 11), (2026, 11), (2026, 12)]):
        w.submit(rec(i, ts=at(y, m, 10)))
    w.submit((None, "no-time"))  # a broken record: no time, few fields
    assert w.close() == 0
    assert partitions(url) == ["audit_2026_10", "audit_2026_11", "audit_2026_12", "audit_other"]
    conn = query.connect_readonly(Paths((), Path("."), Path("."), database=url))
    assert conn.execute("SELECT ref FROM audit_other").fetchall() == [("no-time",)]
    assert conn.execute("SELECT count(*) FROM audit").fetchone()[0] == 5


def test_prune_drops_whole_months_and_trims_the_month_it_cuts(url: str) -> None:
    w = AuditWriter(url, flush_interval=0.01)
    for day in (5, 20):
        for y, m in [(2026, 9), (2026, 10), (2026, 11)]:
            w.submit(rec(day * 100 + m, ts=at(y, m, day)))
    assert w.close() == 0
    seen: list[int] = []
    n = pg_audit.prune(url, at(2026, 10, 15), on_progress=seen.append)
    assert n == 3 and sorted(seen) == [1, 2]  # September (2 rows) dropped, 1 row of October
    assert partitions(url) == ["audit_2026_10", "audit_2026_11", "audit_other"]
    conn = pg.connect(url)
    left = sorted(r[0] for r in conn.execute("SELECT ts FROM audit"))
    assert left == [at(2026, 10, 20), at(2026, 11, 5), at(2026, 11, 20)]


def test_two_writers_make_the_same_new_month_without_a_race(url: str) -> None:
    writers = [AuditWriter(url, flush_interval=0.01) for _ in range(3)]
    for i in range(300):
        writers[i % 3].submit(rec(i, ts=at(2027, 3, 1 + i % 28)))
    assert [w.close() for w in writers] == [0, 0, 0]
    assert "audit_2027_03" in partitions(url)
    assert pg.connect(url).execute("SELECT count(*) FROM audit").fetchone()[0] == 300


def test_a_value_postgresql_types_refuse_is_fitted_not_lost() -> None:
    row = pg_audit.fitted((1.5, "r", object(), "10.0.0.1", "x", 2**80))
    assert row[0] == 1.5 and row[2].startswith("<object") and row[4] is None and row[5] is None
    assert len(row) == len(COLUMNS)
    cats = COLUMNS.index("categories")
    broken = [None] * len(COLUMNS)
    broken[cats] = "not json"
    assert pg_audit.fitted(tuple(broken))[cats] == '["not json"]'  # jsonb takes it
    broken[cats] = '["adult"]'
    assert pg_audit.fitted(tuple(broken))[cats] == '["adult"]'


def test_an_auditor_with_read_rights_only_reads_and_nothing_migrates(url: str) -> None:
    """Opening a log checks its revision and writes nothing, so the auditors' account needs
    SELECT only."""
    writer = AuditWriter(url, flush_interval=0.01)
    writer.submit(rec(1))
    assert writer.close() == 0
    admin = pg.connect(url)
    admin.execute("DROP ROLE IF EXISTS leitor_audit")
    admin.execute("CREATE ROLE leitor_audit LOGIN")
    admin.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO leitor_audit")
    reader_url = url.replace("://guarita@", "://leitor_audit@", 1)
    assert reader_url != url
    conn = query.open_readonly(Paths((), Path("/nao"), Path("/nao"), database=reader_url))
    assert conn is not None and [r["ref"] for r in query.records(conn, query.Filters())] == ["ref1"]
    ready.forget()
    ready.check_pg(conn, reader_url, "audit")  # at this guarita's revision, read with SELECT
    with pytest.raises(seam.StoreError):  # it really cannot write
        conn.execute("INSERT INTO audit (ts) VALUES (1)")
    conn.close()
    admin.execute("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM leitor_audit")
    admin.execute("DROP ROLE leitor_audit")
    admin.close()
