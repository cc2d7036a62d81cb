"""`guarita run --workers N` beside bare mitmdump ×N, in turns: throughput and CPU per request.

    .venv/bin/python scripts/bench_workers.py [--turns 3] [--seconds 8] [--workers 1 2]

Kept-alive HTTP (bench.py's load generator, many connections, the shipped policy with
its audit log on) through: bare mitmdump ×N (N mitmdump processes joined on one port by
SO_REUSEPORT, exactly as guarita's workers are) and `guarita run --workers N`. Besides
requests/s, each case reports the proxy's CPU-seconds per 1,000 requests, read from
/proc for the proxy's whole process tree: on a machine with fewer cores than workers
plus load generator, throughput cannot scale, but CPU per request says what one core
of a bigger machine gives.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
import bench  # noqa: E402

from tests.support.fakenet import FakeNet  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
# bare mitmdump in a SO_REUSEPORT group: guarita's own listener patch, nothing else
BARE = ("from addon.proxy import listener; listener.share_port(); "
        "from mitmproxy.tools.main import mitmdump; mitmdump()")


def tree(pid: int) -> list[int]:
    """pid and its descendants (the supervisor's workers)."""
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            kids.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as fh:
                f = fh.read().rsplit(")", 1)[1].split()
            total += int(f[11]) + int(f[12])  # utime, stime
        except OSError:
            pass
    return total / TICK


def start(kind: str, n: int, upstream: int, work: Path) -> tuple[list[subprocess.Popen[bytes]], int]:
    port = bench.free_port()
    mode = f"upstream:http://127.0.0.1:{upstream}"
    if kind == "bare":
        args = ["-q", "--listen-port", str(port), "--mode", mode, "--set",
                "connection_strategy=lazy", "--set", "http3=false", "--ignore-hosts", ".*"]
        procs = [subprocess.Popen([sys.executable, "-c", BARE, *args], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for _ in range(n)]
    else:
        procs = [subprocess.Popen(
            [str(bench.BIN / "guarita"), "run", "--workers", str(n), "--listen-port", str(port),
             "--mode", mode, "--metrics-port", "0", "--config",
             str(work / "config" / "policy.yaml")],
            cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    for p in procs:
        bench.wait_port(port, p)
    time.sleep(1.0 if n > 1 else 0.3)  # every worker listening, not only the first
    return procs, port


async def load(port: int, seconds: float, concurrency: int) -> int:
    until = time.perf_counter() + seconds
    lat: list[float] = []
    done = await asyncio.gather(*(bench.http_worker(port, i, until, True, lat)
                                  for i in range(concurrency)))
    return sum(done)


def one(kind: str, n: int, upstream: int, work: Path, seconds: float,
        concurrency: int) -> tuple[float, float]:
    procs, port = start(kind, n, upstream, work)
    try:
        asyncio.run(load(port, 1.0, concurrency))  # warm-up
        pids = [q for p in procs for q in tree(p.pid)]
        cpu0, t0 = cpu_seconds(pids), time.perf_counter()
        done = asyncio.run(load(port, seconds, concurrency))
        elapsed, cpu = time.perf_counter() - t0, cpu_seconds(pids) - cpu0
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
    return done / elapsed, 1000 * cpu / max(done, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--turns", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--smoke", action="store_true", help="seconds, not minutes: same code")
    a = ap.parse_args()
    if a.smoke:
        a.turns, a.seconds, a.concurrency = 1, 1.0, 4
    net = FakeNet().start()
    results: dict[tuple[str, int], list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bench.prepare(work, 0)
        for turn in range(a.turns):
            for n in a.workers:
                for kind in ("bare", "guarita"):
                    r = one(kind, n, net.port, work, a.seconds, a.concurrency)
                    results.setdefault((kind, n), []).append(r)
                    print(f"turn {turn + 1}: {kind} x{n}: {r[0]:,.0f} req/s, "
                          f"{r[1]:.3f} CPU-s per 1,000 requests", flush=True)
    net.stop()
    cores = len(os.sched_getaffinity(0))
    print(f"\nmedians of {a.turns} turns, {a.seconds:.0f} s each, {a.concurrency} kept-alive "
          f"connections, {cores} cores (load generator and upstream share them):")
    for n in a.workers:
        bare = [statistics.median(x[i] for x in results[("bare", n)]) for i in (0, 1)]
        g = [statistics.median(x[i] for x in results[("guarita", n)]) for i in (0, 1)]
        print(f"  x{n}: bare {bare[0]:,.0f} req/s ({bare[1]:.3f} CPU-s/1k), guarita "
              f"{g[0]:,.0f} req/s ({g[1]:.3f} CPU-s/1k); ratio {g[0] / bare[0]:.2f}, "
              f"CPU ratio {g[1] / bare[1]:.2f}")


if __name__ == "__main__":
    main()
