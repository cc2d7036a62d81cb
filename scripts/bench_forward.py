"""What forwarding to a SIEM costs the request path: bare mitmdump, guarita, and guarita
forwarding every record to a syslog receiver, in turns, kept-alive requests (issue 29's
target: forwarding on costs at most 3% of the keep-alive ratio).

    .venv/bin/python scripts/bench_forward.py            # 3 turns of 8 s
    .venv/bin/python scripts/bench_forward.py --smoke    # seconds (run by the test suite)

The receiver is a discarding octet-counted syslog server in its own process on core 1 (with
the load generator and the origin; the proxy has core 0), and it counts what arrives, so the
figure is for records really forwarded while the load ran. Names are resolved by the proxies
inside a network namespace as in scripts/bench.py (whose helpers this uses).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

SINK = """
import socket, sys, threading
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(8)
print(srv.getsockname()[1], flush=True)
total = [0]
def serve(c):
    while True:
        data = c.recv(1 << 16)
        if not data:
            return
        total[0] += data.count(b" guarita - ")
def report():
    for line in sys.stdin:
        print(total[0], flush=True)
threading.Thread(target=report, daemon=True).start()
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""


KINDS = ("bare", "guarita", "forward", "apart")


def with_forward(work: Path, port: int | None, name: str = "bench") -> None:
    """The policy with one target (a new name each turn: it starts at the end of the log
    rather than catch up on the other turns' records), or none."""
    path = work / "config" / "policy.yaml"
    tree = yaml.safe_load(path.read_text())
    audit = tree.setdefault("audit", {})
    if port is None:
        audit.pop("forward", None)
    else:
        audit["forward"] = [{"name": name, "host": "127.0.0.1", "port": port}]
    path.write_text(yaml.safe_dump(tree, allow_unicode=True))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--turns", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--smoke", action="store_true", help="one short turn (the test suite)")
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.smoke:
        a.turns, a.seconds, a.concurrency = 1, 0.5, 4
    warm = 0.2 if a.smoke else 1.0
    if bench.netns.available() and not a.inside:
        raise SystemExit(bench.in_namespace(__file__, sys.argv[1:], list(bench.TUNNEL_HOSTS)))
    if (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})
    regular = bool(a.inside)
    net = (bench.FakeNet(bench.netns.SITE, 80, 443) if regular else bench.FakeNet()).start()
    upstream = None if regular else net.port
    sink = subprocess.Popen(bench.pin(1) + [sys.executable, "-c", SINK], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert sink.stdout is not None and sink.stdin is not None
    sink_port = int(sink.stdout.readline())

    def received() -> int:
        assert sink.stdin is not None and sink.stdout is not None
        sink.stdin.write("?\n")
        sink.stdin.flush()
        return int(sink.stdout.readline())

    rates: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    p99: dict[str, list[float]] = {}
    forwarded: dict[str, list[int]] = {}
    print("names resolved by the proxies, regular mode" if regular
          else "upstream mode (not root: no namespace)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bench.prepare(work, 0)
        for turn in range(a.turns):
            for kind in KINDS:
                with_forward(work, sink_port if kind in ("forward", "apart") else None,
                             f"bench{turn}")
                apart = None
                if kind == "apart":  # `guarita forward run` on core 1, the proxy told not to
                    apart = subprocess.Popen(
                        bench.pin(1) + [str(bench.BIN / "guarita"), "forward", "run", "--config",
                                        str(work / "config" / "policy.yaml")], cwd=work,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                proc, port, _ = bench.start("bare" if kind == "bare" else "guarita", upstream,
                                            work, *(["--set", "guarita_forwarder=false"]
                                                    if apart else []))
                try:
                    asyncio.run(bench.load(port, "newconn", warm, a.concurrency))  # warm-up
                    before = received()
                    c0, t0 = bench.cpu_seconds(proc.pid), time.perf_counter()
                    r = asyncio.run(bench.load(port, "keepalive", a.seconds, a.concurrency))
                    used, took = bench.cpu_seconds(proc.pid) - c0, time.perf_counter() - t0
                    time.sleep(warm + 0.5)  # the last round's records reach the receiver
                    got = received() - before
                    rates.setdefault(kind, []).append(r[0])
                    p99.setdefault(kind, []).append(r[2])
                    cpu.setdefault(kind, []).append(used / (r[0] * took / 1000) if r[0] else 0)
                    if kind in ("forward", "apart"):
                        forwarded.setdefault(kind, []).append(got)
                    print(f"turn {turn + 1} {kind:8} {r[0]:8.0f} req/s  p50 {r[1]:6.1f} ms  "
                          f"p99 {r[2]:6.1f} ms  CPU {cpu[kind][-1]:5.3f} s/1k"
                          + (f"  forwarded {got}" if kind in ("forward", "apart") else ""),
                          flush=True)
                finally:
                    proc.terminate()
                    proc.wait(30)
                    if apart is not None:
                        apart.terminate()
                        apart.wait(30)
    sink.kill()
    net.stop()

    def ratio(kind: str) -> float:
        return statistics.median(x / y for x, y in zip(rates[kind], rates["bare"], strict=True))

    g = ratio("guarita")
    print(f"\nkeep-alive ratio to bare (median of turns): guarita {g:.3f}")
    for kind, label in (("forward", "forwarding in the proxy"),
                        ("apart", "forwarding by `guarita forward run`")):
        f = ratio(kind)
        print(f"{label}: {f:.3f}, costs {100 * (g - f):.1f} points (target: at most 3); "
              f"p99 {statistics.median(p99[kind]):.1f} ms against {statistics.median(p99['guarita']):.1f}")
    print("CPU s/1k of the proxy (median): " + ", ".join(
        f"{k} {statistics.median(cpu[k]):.3f}" for k in KINDS))
    print(f"records the receiver got in each turn: {forwarded}")


if __name__ == "__main__":
    main()
