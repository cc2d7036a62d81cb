"""Audit-log benchmarks: the writer alone, the enqueue cost, and auditors' queries on a big log.

    .venv/bin/python scripts/bench_audit.py [--records 1000000] [--rows 10000000] [--smoke]
    .venv/bin/python scripts/bench_audit.py --backend postgresql   # a throw-away local server

The writer figure is sustained: from the first submit until the last record is
committed to SQLite on disk (WAL, synchronous=NORMAL, all indexes), with the
producer and the writer thread sharing the GIL as they do in the proxy. The
query figures run the CLI's own SQL (addon.audit.query) on a log of --rows
records spread over 90 days, 2,000 users and 50,000 hosts. With --backend postgresql
the same code runs against a PostgreSQL started for the run (initdb + pg_ctl on a
loopback port, tests/support/postgres.py; fsync off, as a throw-away server): COPY
into the month partitions with every index.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from addon.audit import query, verify, violations  # noqa: E402
from addon.audit.hasher import Hasher  # noqa: E402
from addon.audit.seal import Seal  # noqa: E402
from addon.audit.sealer import Sealer  # noqa: E402
from addon.audit.writer import AuditWriter  # noqa: E402
from addon.policy.notify_settings import DEFAULT_RULES  # noqa: E402
from addon.policy.paths import Paths  # noqa: E402

Target = Path | str  # a SQLite file, or a PostgreSQL database's URL

DAY = 86400.0
CATS = ["government", "news", "search_engines", "webmail", "social_networks", "video", "shopping",
        "adult", "games", "banks", "malware", "education"]
RULES = ["level.allowed", "category.blocked", "level.not_allowed", "off_hours_only", "malicious"]


def make_records(n: int, start: float, span: float, seed: int = 7) -> list[tuple[object, ...]]:
    """Realistic rows in schema order (see addon/audit/schema.py COLUMNS)."""
    rnd = random.Random(seed)
    users = [f"user{i:04d}" for i in range(2000)]
    # most people sit at their own machine; a few hundred shared machines besides
    machines = [f"10.{i // 250}.{(i % 250) // 10}.{i % 10 + 10}" for i in range(2500)]
    hosts = [f"www.site{i:05d}.com.br" for i in range(50_000)]
    cat_json = [json.dumps([c]) for c in CATS]
    step = span / n
    rows = []
    for i in range(n):
        blocked = rnd.random() < 0.15
        u = rnd.randrange(2000)
        ip = machines[u if rnd.random() < 0.9 else 2000 + rnd.randrange(500)]
        rows.append((
            start + i * step, f"ab1-{i:x}", users[u], ip, None,
            rnd.randrange(4), rnd.randrange(4), "GET", "https", hosts[int(rnd.paretovariate(1.2)) % 50_000],
            443, "/", 403 if blocked else 200, "block" if blocked else "allow",
            RULES[1 + rnd.randrange(4)] if blocked else RULES[0],
            cat_json[rnd.randrange(len(CATS))], None, rnd.randrange(100_000), rnd.randrange(2000),
            rnd.random() * 50, "session",
        ))
    return rows


class Unsealed(Sealer):
    """The writer with the chain off, for --compare-chain only: no leaves, no seal row."""

    def prepare(self, batch: Sequence[Sequence[object]]) -> None:
        return None

    def seal(self, conn: object, batch: Sequence[Sequence[object]], first_id: int,
             read_back: bool = False, prepared: int | None = None) -> Seal:
        return Seal(self.chain, self.seq + 1, first_id, first_id + len(batch) - 1, b"", b"", b"")


def bench_writer(target: Target, n: int, writers: int = 1, chain: bool = True,
                 helper: bool = True) -> dict[str, float]:
    """Enqueue cost, then sustained throughput; with `writers` > 1, that many writers (as
    that many workers or nodes run) each fed by its own thread with its share."""
    import threading

    rows = make_records(n, time.time() - DAY, DAY)
    def sealer() -> Sealer:
        if not chain:
            return Unsealed()
        return Sealer() if helper else Sealer(hasher=Hasher(min_batch=sys.maxsize))

    ws = [AuditWriter(target, sealer=sealer()) for _ in range(writers)]
    w = ws[0]
    w.submit(rows[0])
    w.flush()  # schema created, file open: measure the steady state
    for other in ws[1:]:
        other.submit(rows[0])
        other.flush()
    # enqueue cost on the request path: each submit timed on its own
    sample = rows[1 : min(n, 200_001)]
    costs = []
    clock = time.perf_counter_ns
    for r in sample:
        t = clock()
        w.submit(r)
        costs.append(clock() - t)
    w.flush(600)
    # sustained throughput: hand over everything (waiting while the queue is full, as the
    # proxy's requests do), then wait until committed
    def feed(writer: AuditWriter, share: list[tuple[object, ...]]) -> None:
        for r in share:
            writer.put(r)
        writer.flush(600)

    feeders = [threading.Thread(target=feed, args=(x, rows[i::writers]))
               for i, x in enumerate(ws)]
    helpers0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0, c0 = time.perf_counter(), time.process_time()
    for f in feeders:
        f.start()
    for f in feeders:
        f.join()
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    lost = sum(x.close() for x in ws)
    helpers = resource.getrusage(resource.RUSAGE_CHILDREN)  # the leaves helpers, ended by close
    helper_cpu = (helpers.ru_utime + helpers.ru_stime) - (helpers0.ru_utime + helpers0.ru_stime)
    costs.sort()
    return {
        "records_per_s": n / elapsed,
        "cpu_us_per_record": cpu / n * 1e6,  # the whole process: feeders and writers
        "helper_cpu_us_per_record": helper_cpu / n * 1e6,  # on another core (audit/hasher.py)
        "enqueue_p50_ns": costs[len(costs) // 2],
        "enqueue_p99_ns": costs[int(len(costs) * 0.99)],
        "enqueue_mean_ns": statistics.fmean(costs),
        "backpressure_waits": sum(x.backpressure_waits for x in ws),
        "lost": lost,
    }


def fill(path: Target, rows: int, chunk: int = 1_000_000) -> float:
    """Fill a log of `rows` records over 90 days through the writer; returns records/s."""
    end = time.time()
    start = end - 90 * DAY
    w = AuditWriter(path, max_queue=400_000)
    t0 = time.perf_counter()
    done = 0
    while done < rows:
        n = min(chunk, rows - done)
        span = 90 * DAY * n / rows
        for r in make_records(n, start + 90 * DAY * done / rows, span, seed=done):
            w.put(r)
        done += n
        print(f"  filled {done:,} rows", file=sys.stderr, end="\r")
    w.close(3600)
    print(file=sys.stderr)
    return rows / (time.perf_counter() - t0)


def bench_verify(path: Target) -> tuple[float, verify.Report]:
    """`guarita audit verify`'s check on the whole log (what a nightly run does)."""
    conn = query.connect_readonly(path if isinstance(path, Path) else
                                  Paths((), Path("."), Path("."), database=path))
    t0 = time.perf_counter()
    report = verify.verify(conn)
    seconds = time.perf_counter() - t0
    conn.close()
    return seconds, report


def bench_queries(path: Target) -> list[tuple[str, float, int]]:
    conn = query.connect_readonly(path if isinstance(path, Path) else
                                  Paths((), Path("."), Path("."), database=path))
    now = time.time()
    day = (now - DAY, now)
    week = (now - 7 * DAY, now)
    cases: list[tuple[str, object]] = [
        ("query --user (last 100)", lambda: list(query.records(conn, query.Filters(user="user0042")))),
        ("query --user --since 1 day", lambda: list(query.records(
            conn, query.Filters(user="user0042", since=day[0]), 10_000))),
        ("query --ip --since 7 days", lambda: list(query.records(
            conn, query.Filters(ip="10.3.17.10", since=week[0]), 10_000))),
        ("query --host (last 100)", lambda: list(query.records(
            conn, query.Filters(host="www.site00007.com.br")))),
        ("query --host *.domain 1 day", lambda: list(query.records(
            conn, query.Filters(host="*.site00007.com.br", since=day[0]), 10_000))),
        ("query --decision block 1 day", lambda: list(query.records(
            conn, query.Filters(decision="block", since=day[0]), 1000))),
        ("query --category adult 1 day", lambda: list(query.records(
            conn, query.Filters(category="adult", since=day[0]), 1000))),
        ("report --by user, 1 day", lambda: query.report(conn, query.Filters(since=day[0]), "user")),
        ("report --by category, 1 day", lambda: query.report(
            conn, query.Filters(since=day[0]), "category")),
        ("violations, 7 days", lambda: violations.count(
            conn, query.Filters(since=week[0]), DEFAULT_RULES, 600.0)),
        ("violations --user, 90 days", lambda: violations.count(
            conn, query.Filters(user="user0042"), DEFAULT_RULES, 600.0)),
    ]
    out = []
    for name, fn in cases:
        t = time.perf_counter()
        result = fn()  # type: ignore[operator]
        out.append((name, time.perf_counter() - t, len(result)))
    return out


def bench_console(folder: Path, log: Target) -> list[tuple[str, float, int]]:
    """The console's audit pages on the big log, signed in as an auditor (Flask's client)."""
    import os
    import re
    import shutil

    import yaml

    from addon.console.app import create_app

    work = folder / "console"
    shutil.copytree(ROOT / "config", work / "config")
    shutil.copytree(ROOT / "categories", work / "categories")
    tree = yaml.safe_load((work / "config" / "policy.yaml").read_text())
    tree.setdefault("paths", {})["state"] = str(work / "var")
    (work / "var").mkdir()
    if isinstance(log, Path):
        os.symlink(log, work / "var" / "audit.db")
    else:
        tree["storage"] = {"database": log}
    (work / "config" / "policy.yaml").write_text(yaml.safe_dump(tree, allow_unicode=True))
    os.chdir(work)
    app = create_app(work / "config" / "policy.yaml")
    client = app.test_client()
    page = client.get("/entrar").get_data(as_text=True)  # the sign-in form's CSRF token
    token = re.search(r'id="login-csrf" value="([^"]+)"', page)
    client.post("/entrar", data={"login": "auditor", "senha": "auditor",
                                 "csrf": token.group(1) if token else ""})
    out = []
    for name, url in [("audit page, one user", "/auditoria?usuario=user0042"),
                      ("audit page, one site", "/auditoria?site=www.site00007.com.br"),
                      ("audit page, blocks (24 h)", "/auditoria?decisao=block"),
                      ("audit page, a machine", "/auditoria?ip=10.3.17.10"),
                      ("violations page (7 days)", "/equipe"),
                      ("violations page (30 days)", "/equipe?dias=30"),
                      ("CSV export, one user", "/auditoria.csv?usuario=user0042")]:
        client.get(url)  # the first call opens connections and loads templates
        t = time.perf_counter()
        r = client.get(url)
        out.append((name, time.perf_counter() - t, r.status_code))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=1_000_000, help="records for the writer test")
    ap.add_argument("--rows", type=int, default=10_000_000, help="rows in the log the queries read")
    ap.add_argument("--smoke", action="store_true", help="a few seconds: tiny sizes, same code")
    ap.add_argument("--dir", type=Path, help="work folder (default: a temporary one)")
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--writers", type=int, nargs="+", default=[1],
                    help="writer counts to measure (PostgreSQL: 1 2, as workers or nodes)")
    ap.add_argument("--compare-chain", type=int, metavar="TURNS", default=0,
                    help="only the writer, TURNS alternations of the chain off and on")
    ap.add_argument("--no-helper", action="store_true",
                    help="with --compare-chain: every leaf hashed in the writer's thread")
    a = ap.parse_args()
    if a.smoke:
        a.records, a.rows = 20_000, min(a.rows, 50_000)
    server = None
    if a.backend == "postgresql":
        from tests.support import postgres

        server = postgres.start()
    try:
        run(a, server)
    finally:
        if server is not None:
            server.destroy()


def compare_chain(a: argparse.Namespace, server: object, folder: Path) -> None:
    """The cost of the evidence: the same writer with its seals off and on, alternating in
    one run (this VM's spread between runs is larger than the effect), medians compared."""
    figures: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    for turn in range(a.compare_chain):
        for chain in (False, True):
            name = f"chain{turn}{int(chain)}"
            target: Target = (server.create_database(name)  # type: ignore[attr-defined]
                              if server else folder / f"{name}.db")
            w = bench_writer(target, a.records, chain=chain, helper=not a.no_helper)
            figures[chain].append(w)
            print(f"  turn {turn + 1} chain {'on ' if chain else 'off'}: "
                  f"{w['records_per_s']:9,.0f} records/s, {w['cpu_us_per_record']:5.2f} µs CPU "
                  f"a record (+ {w['helper_cpu_us_per_record']:.2f} in the leaves helper)",
                  flush=True)
    rate = {c: statistics.median(w["records_per_s"] for w in f) for c, f in figures.items()}
    cpu = {c: statistics.median(w["cpu_us_per_record"] for w in f) for c, f in figures.items()}
    helper = statistics.median(w["helper_cpu_us_per_record"] for w in figures[True])
    # each turn's two runs are neighbours in time: their ratio is the least noisy figure
    paired = statistics.median(on["records_per_s"] / off["records_per_s"]
                               for off, on in zip(figures[False], figures[True], strict=True))
    print(f"audit writer, chain on / off: {paired:.2f}, the median of {a.compare_chain} turns' "
          f"ratios (target >= 0.95: {'ok' if paired >= 0.95 else 'MISSED'}); medians "
          f"{rate[True]:,.0f} / {rate[False]:,.0f} records/s; CPU {cpu[True]:.2f} / "
          f"{cpu[False]:.2f} µs a record in the process, +{helper:.2f} in the leaves helper")


def run(a: argparse.Namespace, server: object) -> None:
    engine = "PostgreSQL (COPY, month partitions)" if server else "SQLite on disk"
    with tempfile.TemporaryDirectory(dir=a.dir) as tmp:
        folder = Path(tmp)
        if a.compare_chain:
            compare_chain(a, server, folder)
            return
        for writers in a.writers:
            target: Target = (server.create_database(f"bench_writer{writers}")  # type: ignore[attr-defined]
                              if server else folder / f"writer{writers}.db")
            w = bench_writer(target, a.records, writers)
            verdict = "ok" if w["records_per_s"] >= 100_000 else "MISSED"
            print(f"audit writer x{writers}: {w['records_per_s']:,.0f} records/s sustained into "
                  f"{engine} ({a.records:,} records; target >= 100,000: {verdict}); lost "
                  f"{w['lost']}, back-pressure waits {w['backpressure_waits']}", flush=True)
        verdict = "ok" if w["enqueue_p50_ns"] < 2000 else "MISSED"
        print(f"audit enqueue: p50 {w['enqueue_p50_ns'] / 1000:.2f} µs, p99 "
              f"{w['enqueue_p99_ns'] / 1000:.2f} µs, mean {w['enqueue_mean_ns'] / 1000:.2f} µs "
              f"(target < 2 µs: {verdict})")
        if not a.rows:
            return
        log: Target = server.create_database("bench_big") if server else folder / "big.db"  # type: ignore[attr-defined]
        rate = fill(log, a.rows)
        if server:
            from addon.store import pg

            conn = pg.connect(str(log))
            conn.execute("VACUUM ANALYZE audit")  # what autovacuum does after a bulk load
            size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0] / 1e6
        else:
            size = sum(p.stat().st_size for p in folder.glob("big.db*")) / 1e6
        print(f"audit log of {a.rows:,} rows: filled at {rate:,.0f} records/s, {size:,.0f} MB on disk")
        seconds, report = bench_verify(log)
        print(f"  audit verify (every seal and record) {seconds:9.1f} s  ({report.records:,} "
              f"records, {report.seals:,} seals, {'intact' if report.intact else 'TAMPERED'}: "
              f"{report.records / seconds:,.0f} records/s)", flush=True)
        for name, seconds, n in bench_queries(log):
            print(f"  {name:32s} {seconds * 1000:9.1f} ms  ({n} rows)")
        for name, seconds, status in bench_console(folder, log):
            print(f"  console: {name:27s} {seconds * 1000:9.1f} ms  (HTTP {status})")


if __name__ == "__main__":
    main()
