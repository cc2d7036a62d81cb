"""The audit writer and the auditors' queries, on real SQLite files."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from addon.audit import query
from addon.audit.record import record
from addon.audit.writer import AuditWriter
from addon.policy.model import Decision, Identity
from addon.policy.paths import Paths
from addon.settings.load import load_policy


def rec(i: int, user: str = "ana", host: str = "www.gov.br", decision: str = "allow",
        rule: str = "level.allowed", cats: tuple[str, ...] = ("government",), ts: float | None = None
        ) -> tuple[object, ...]:
    d = Decision(decision, 2, cats, "r", rule)  # type: ignore[arg-type]
    ident = Identity(user, frozenset(), 2, source="directory")
    return record(ts or 1_800_000_000 + i, f"ref{i}", ident, d, "GET", "http", host, 80, f"/{i}",
                  200, 10, 100, 1.0, "10.0.0.1")


def count(path: Path | str) -> int:
    conn = query.connect_readonly(path if isinstance(path, Path) else
                                  Paths((), Path("."), Path("."), database=path))
    return int(conn.execute("SELECT count(*) FROM audit").fetchone()[0])


@pytest.fixture
def target(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Path | str:
    """Where the log is: a SQLite file, or a fresh database of a real PostgreSQL."""
    if backend == "sqlite":
        return tmp_path / "audit.db"
    server = request.getfixturevalue("postgres")
    return str(server.create_database(f"audit_{tmp_path.name}"[:60]))


def readonly(target: Path | str) -> sqlite3.Connection:
    return query.connect_readonly(target if isinstance(target, Path) else
                                  Paths((), Path("."), Path("."), database=target))


def test_n_records_in_n_records_out(target: Path | str) -> None:
    w = AuditWriter(target, flush_interval=0.05, max_batch=1000)
    for i in range(25_000):
        w.submit(rec(i))
    assert w.close() == 0
    assert count(target) == 25_000


def test_back_pressure_never_drops(tmp_path: Path) -> None:
    w = AuditWriter(tmp_path / "audit.db", flush_interval=0.01, max_batch=100, max_queue=50)
    for i in range(2_000):
        w.submit(rec(i))
    assert w.close() == 0 and w.backpressure_waits > 0
    assert count(tmp_path / "audit.db") == 2_000


def test_read_only_database_is_reported_and_recovered(tmp_path: Path, caplog) -> None:  # noqa: ANN001
    db = tmp_path / "audit.db"
    w = AuditWriter(db, flush_interval=0.02)
    w.submit(rec(0))
    assert w.flush()
    os.chmod(db, 0o444)
    os.chmod(tmp_path, 0o555)
    try:
        for i in range(1, 101):
            w.submit(rec(i))
        time.sleep(0.5)
        if os.geteuid() != 0:  # root ignores file modes: nothing to report then
            assert w.waiting == 100 and w.last_error and "cannot write" in w.last_error
            assert sum("cannot write" in r.message for r in caplog.records) == 1  # once
    finally:
        os.chmod(tmp_path, 0o755)
        os.chmod(db, 0o644)
    assert w.flush(15)
    assert w.close() == 0 and count(db) == 101


def test_kill_9_loses_at_most_one_flush_interval(tmp_path: Path) -> None:
    """The promise in docs/operations: after kill -9, only the last flush interval is lost."""
    db = tmp_path / "audit.db"
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
        from addon.audit.writer import AuditWriter
        from tests.test_audit import rec
        w = AuditWriter(__import__('pathlib').Path({str(db)!r}), flush_interval=0.1)
        i = 0
        while True:
            w.submit(rec(i, ts=time.time()))
            i += 1
            if i % 100 == 0:
                print(i, time.time(), flush=True)
                time.sleep(0.005)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    last = ""
    deadline = time.monotonic() + 3
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        last = proc.stdout.readline()
    proc.send_signal(signal.SIGKILL)
    killed_at = time.time()
    proc.wait()
    conn = sqlite3.connect(db)
    newest = conn.execute("SELECT max(ts) FROM audit").fetchone()[0]
    submitted = int(last.split()[0])
    assert conn.execute("SELECT count(*) FROM audit").fetchone()[0] > submitted * 0.5
    # what is missing is only what arrived after the last flush (0.1 s) plus scheduling slack
    assert killed_at - newest < 0.1 + 0.25, killed_at - newest


def test_queries_return_exactly_the_matching_rows(target: Path | str) -> None:
    w = AuditWriter(target)
    w.submit(rec(1, user="ana", host="www.gov.br"))
    w.submit(rec(2, user="ana", host="www.pornhub.com", decision="block",
                 rule="category.blocked", cats=("adult",)))
    w.submit(rec(3, user="bia", host="cdn.pornhub.com", decision="block",
                 rule="category.blocked", cats=("adult",)))
    w.submit(rec(4, user="bia", host="www.facebook.com", decision="block",
                 rule="level2.business_hours", cats=("social_networks",)))
    w.close()
    conn = readonly(target)
    got = lambda **kw: sorted(r["ref"] for r in query.records(conn, query.Filters(**kw)))  # noqa: E731
    assert got(user="ana") == ["ref1", "ref2"]
    assert got(decision="block") == ["ref2", "ref3", "ref4"]
    assert got(category="adult") == ["ref2", "ref3"]
    assert got(host="*.pornhub.com") == ["ref2", "ref3"]
    assert got(host="pornhub.com") == []
    assert got(since=1_800_000_002, until=1_800_000_004) == ["ref2", "ref3"]
    assert got(host="%") == [] and got(user="' OR 1=1 --") == []
    from addon.audit import violations
    from addon.policy.notify_settings import DEFAULT_RULES

    v = violations.per_person(violations.count(conn, query.Filters(), DEFAULT_RULES, 600.0))
    assert [(x["user"], x["attempts"]) for x in v] == [("ana", 1), ("bia", 1)]  # not the time rule
    by_cat = {r["category"]: r["requests"] for r in query.report(conn, query.Filters(), "category")}
    assert by_cat == {"adult": 2, "government": 1, "social_networks": 1}
    by_user = {r["user"]: (r["requests"], r["blocked"]) for r in
               query.report(conn, query.Filters(), "user")}
    assert by_user == {"ana": (2, 1), "bia": (2, 2)}
    days = query.per_day(conn, query.Filters(), None)
    assert days == [{"day": "2027-01-15", "requests": 4, "blocked": 3}]


def test_cli_outputs_parse(any_ws) -> None:  # noqa: ANN001
    ws = any_ws
    w = AuditWriter(load_policy(ws.config, workdir=ws.root).paths.audit_target)
    for i in range(5):
        w.submit(rec(i, user="ana" if i % 2 else "bia"))
    w.close()
    j = json.loads(ws.run("audit", "query", "--format", "json", check=True).stdout)
    assert len(j) == 5 and j[0]["categories"] == ["government"]
    rows = list(csv.DictReader(io.StringIO(ws.run("audit", "query", "--user", "ana", "--format",
                                                  "csv", check=True).stdout)))
    assert len(rows) == 2 and {r["user"] for r in rows} == {"ana"}
    rep = json.loads(ws.run("audit", "report", "--by", "user", "--format", "json",
                            check=True).stdout)
    assert {r["user"]: r["requests"] for r in rep} == {"ana": 2, "bia": 3}
    ws.run("audit", "prune", "--before", "2030-01-01", "--operator", "auditor", check=True)
    assert json.loads(ws.run("audit", "query", "--format", "json").stdout) == []
    hist = json.loads(ws.run("audit", "admin", "--format", "json").stdout)
    assert hist[0]["action"] == "audit.prune" and hist[0]["operator"] == "auditor"


def test_prune_in_chunks_deletes_exactly_the_older_rows(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    w = AuditWriter(db)
    for i in range(1, 1001):
        w.submit(rec(i))
    w.close()
    seen: list[int] = []
    n = query.prune(db, 1_800_000_000 + 701, chunk=64, on_progress=seen.append)
    assert n == 700 and sum(seen) == 700 and max(seen) == 64  # several short transactions
    conn = query.connect_readonly(db)
    assert [r[0] for r in conn.execute("SELECT min(ts), count(*) FROM audit")] == [1_800_000_701]
    assert conn.execute("SELECT count(*) FROM audit").fetchone()[0] == 300


def test_writer_keeps_planner_statistics_fresh(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    w = AuditWriter(db, flush_interval=0.01)
    for i in range(2500):
        w.submit(rec(i, user=f"u{i % 50}"))
    w.close()
    conn = query.connect_readonly(db)
    stats = dict(conn.execute("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'audit'").fetchall())
    # rows the last ANALYZE saw: an estimate (analysis_limit), so "after the log passed
    # 2,000 rows" reads as clearly above the 1,000 of the run before it
    assert int(stats["idx_audit_user_ts"].split()[0]) >= 1500


def test_a_record_sqlite_refuses_is_stored_as_text_and_the_rest_go_on(target: Path | str) -> None:
    w = AuditWriter(target, flush_interval=0.01)
    w.submit(rec(0))
    w.submit((1.0, "bad", object(), "10.0.0.1"))  # wrong width, a type SQLite cannot bind
    w.submit(rec(2)[:-1] + (2**80,))  # an integer out of SQLite's range
    for i in range(3, 10):
        w.submit(rec(i))
    assert w.close() == 0 and w.coerced >= 1 and w.restarts == 0
    rows = readonly(target).execute("SELECT ref, \"user\" FROM audit ORDER BY id").fetchall()
    assert len(rows) == 10 and rows[1][0] == "bad" and rows[1][1].startswith("<object")


def test_the_writer_thread_restarts_after_any_failure(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    w = AuditWriter(tmp_path / "audit.db", flush_interval=0.01)
    real = w._flush_once
    calls = {"n": 0}

    def flaky() -> bool:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("a bug in the writer")
        return real()

    monkeypatch.setattr(w, "_flush_once", flaky)
    for i in range(50):
        w.submit(rec(i))
    assert w.flush(10)
    assert w.restarts == 1 and w.close() == 0 and count(tmp_path / "audit.db") == 50


def test_submit_never_waits_and_put_does(tmp_path: Path) -> None:
    w = AuditWriter(tmp_path / "audit.db", flush_interval=0.01, max_queue=3)
    assert [w.submit(rec(i)) for i in range(4)][-1] is False  # over the bound: told, not held
    for i in range(4, 40):
        w.put(rec(i))
    assert w.close() == 0 and count(tmp_path / "audit.db") == 40


def test_a_folder_that_cannot_be_made_is_reported_once_and_recovered(tmp_path: Path,
                                                                    caplog) -> None:  # noqa: ANN001
    blocker = tmp_path / "var"
    blocker.write_text("a file where the folder should be")  # mkdir fails even for root
    w = AuditWriter(blocker / "audit.db", flush_interval=0.01)
    for i in range(30):
        w.submit(rec(i))
    time.sleep(0.3)
    assert w.waiting == 30 and w.last_error and "cannot write" in w.last_error
    assert sum("cannot write" in r.message for r in caplog.records) == 1  # once, not a flood
    w.put(rec(30), timeout=0.1)  # room: returns at once
    blocker.unlink()
    assert w.flush(15) and w.last_error is None
    assert w.close() == 0 and count(blocker / "audit.db") == 31


def test_put_gives_up_after_its_timeout_while_the_disk_refuses(tmp_path: Path) -> None:
    blocker = tmp_path / "var"
    blocker.write_text("x")
    w = AuditWriter(blocker / "audit.db", flush_interval=0.01, max_queue=2)
    started = time.monotonic()
    for i in range(3):
        w.put(rec(i), timeout=0.2)
    assert time.monotonic() - started < 2 and w.waiting == 3  # waited, dropped nothing
    blocker.unlink()
    assert w.close() == 0 and count(blocker / "audit.db") == 3
