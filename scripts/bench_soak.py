"""Sustained load with reloads: the proxy's RSS each minute, guarita beside bare mitmdump.

    .venv/bin/python scripts/bench_soak.py               # 10 minutes each (about 21 minutes)
    .venv/bin/python scripts/bench_soak.py --minutes 1   # a quick look
    .venv/bin/python scripts/bench_soak.py --smoke       # a few seconds (run by the tests)

Runs inside a network namespace of its own (as root) whose hosts file names the local
origin, so the proxies resolve `www.gov.br` themselves, in regular mode, as deployed. Each
proxy serves 16 kept-alive connections asking for one URL, without pause, for the whole
time; guarita is sent SIGHUP (a full reload) every `--reload-every` seconds. Printed: RSS
each minute, and the spread after the warm-up minute (target: within 5 MB, and within
30 MB of bare mitmdump).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from bench import BIN, cpu_seconds, free_port, in_namespace, pin, prepare, rss_mb, wait_port  # noqa: E402

from tests.support import netns  # noqa: E402
from tests.support.fakenet import FakeNet  # noqa: E402

HOST = "www.gov.br"


async def client(port: int, until: float, counter: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = f"GET http://{HOST}/soak HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()
    while time.monotonic() < until:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        await reader.readexactly(length)
        counter[0] += 1
    writer.close()


async def soak(proc: subprocess.Popen[bytes], port: int, seconds: float, sample: float,
               reload_every: float, conns: int) -> list[tuple[float, float, int]]:
    """(minute, RSS MB, requests so far) at each sample."""
    counter = [0]
    until = time.monotonic() + seconds
    jobs = [asyncio.create_task(client(port, until, counter)) for _ in range(conns)]
    samples: list[tuple[float, float, int]] = []
    started = time.monotonic()
    next_reload = started + reload_every if reload_every else float("inf")
    next_sample = started + sample
    while time.monotonic() < until:
        await asyncio.sleep(0.2)
        now = time.monotonic()
        if now >= next_reload:
            proc.send_signal(signal.SIGHUP)
            next_reload += reload_every
        if now >= next_sample:
            samples.append(((now - started) / 60, rss_mb(proc.pid), counter[0]))
            print(f"  {samples[-1][0]:5.1f} min  RSS {samples[-1][1]:6.1f} MB  "
                  f"{counter[0]:>9,} requests", flush=True)
            next_sample += sample
    await asyncio.gather(*jobs, return_exceptions=True)
    return samples


def run_one(kind: str, work: Path, a: argparse.Namespace) -> tuple[list[tuple[float, float, int]], float]:
    port = free_port()
    if kind == "bare":
        cmd = [str(BIN / "mitmdump"), "-q", "--listen-port", str(port),
               "--set", "connection_strategy=lazy", "--set", "http3=false", "--ignore-hosts", ".*"]
    else:
        cmd = [str(BIN / "guarita"), "run", "--listen-port", str(port), "--metrics-port", "0",
               "--config", str(work / "config" / "policy.yaml")]
    proc = subprocess.Popen(pin(0) + cmd, cwd=work, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc)
        print(f"{kind}:", flush=True)
        c0 = cpu_seconds(proc.pid)
        samples = asyncio.run(soak(proc, port, a.minutes * 60, a.sample, a.reload_every if
                                   kind == "guarita" else 0, a.concurrency))
        total = samples[-1][2] if samples else 0
        per_k = (cpu_seconds(proc.pid) - c0) / (total / 1000) if total else 0.0
    finally:
        proc.terminate()
        proc.wait(30)
    return samples, per_k


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--sample", type=float, default=60, help="seconds between RSS samples")
    ap.add_argument("--reload-every", type=float, default=60)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.smoke:
        a.minutes, a.sample, a.reload_every, a.concurrency = 0.1, 2, 3, 4
    if not a.inside:
        if not netns.available():
            raise SystemExit("bench_soak.py needs root and iproute2 (a network namespace)")
        raise SystemExit(in_namespace(__file__, sys.argv[1:], [HOST]))
    if (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})
    net = FakeNet(netns.SITE, 80, 443).start()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        prepare(work, 0)
        subprocess.run([str(BIN / "guarita"), "session", "login", "servidor", "127.0.0.1",
                        "--config", str(work / "config" / "policy.yaml")], cwd=work, check=True,
                       stdout=subprocess.DEVNULL)
        for kind in ("bare", "guarita"):
            results[kind] = run_one(kind, work, a)
    net.stop()
    print("\nkind      requests   req/s  CPU s/1k  RSS first  last  spread after warm-up")
    for kind, (samples, per_k) in results.items():
        if not samples:
            continue
        after = [s[1] for s in samples[1:]] or [samples[0][1]]
        rate = samples[-1][2] / (samples[-1][0] * 60) if samples[-1][0] else 0
        print(f"{kind:8} {samples[-1][2]:>10,} {rate:7.0f} {per_k:8.3f} {samples[0][1]:9.1f} "
              f"{samples[-1][1]:5.1f}  {max(after) - min(after):5.1f} MB")
    g, b = results["guarita"][0], results["bare"][0]
    if g and b:
        print(f"guarita - bare at the end: {g[-1][1] - b[-1][1]:+.1f} MB (target within 30 MB)")


if __name__ == "__main__":
    main()
