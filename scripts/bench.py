"""guarita beside bare mitmdump, in turns, on this machine: the only honest throughput figure.

    .venv/bin/python scripts/bench.py            # full run (a few minutes), prints the table
    .venv/bin/python scripts/bench.py --smoke    # a few seconds (run by the test suite)

Cases: kept-alive HTTP to sites every user may reach (both proxies forward every request),
the same with a realistic mix of sites some users may not reach (`mix`: guarita answers
those itself, so the ratio flatters it), a new connection per request, CONNECT + TLS
handshake + one request
(tunnel), one large download through a pass-through tunnel (bulk, MB/s), and a blocked
https:// site (a refused CONNECT, or with --https-block-page the handshake and the page).
guarita runs twice per turn, as shipped and with --https-block-page.

Names are resolved by the proxies themselves (`--via names`, the default as root): the
whole run re-executes inside a network namespace of its own whose hosts file maps every
site to one local origin (tests/support/fakenet.py on 198.51.100.10:80 and :443), and both
proxies run in regular mode, so guarita's destination check, its resolution and its pin
are measured as a real deployment runs them. `--via upstream` chains both proxies to the
same origin in mitmproxy's upstream mode instead (no resolution; where guarita's check
stands aside). guarita runs with the audit log on, the shipped policy, and (full run) the
5-million-domain index. The proxy under test is pinned to core 0, the load generator and
origin to core 1 (taskset, when there are 2+ cores). Beside each rate: the proxy process's
CPU-seconds per 1,000 requests (from /proc), and its RSS at the end of each turn.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.support import netns  # noqa: E402
from tests.support.fakenet import FakeNet  # noqa: E402

BIN = Path(sys.executable).parent
USERS = ["servidor", "membro", "estagiario", "coordenador", "terceirizado"]
# A realistic mix: allowed, blocked by category, blocked by time (level 2 in business hours),
# unclassified, and allowed for some users only.
HOSTS = ["www.gov.br", "www.gov.br", "www.tjrs.jus.br", "www.ufrgs.br", "www.bb.com.br",
         "example.org", "news.example.net", "www.facebook.com", "www.pornhub.com",
         "www.youtube.com", "mail.google.com", "zoom.us"]
# Tunnels compare like with like: only hosts every user may reach, so both proxies do the
# same work (a blocked CONNECT never reaches the upstream and would flatter guarita).
TUNNEL_HOSTS = ["www.gov.br", "www.tjrs.jus.br", "www.ufrgs.br", "www.bb.com.br",
                "www.planalto.gov.br"]


# keepalive, newconn and tunnels compare like with like: sites every user may reach, so both
# proxies forward every request; `mix` adds the blocked ones, which guarita answers itself
CASES = ("keepalive", "mix", "newconn", "tunnel", "bulk")
BLOCKED = "blocked"  # CONNECT to a blocked site: refused (guarita) or shown its page (page)
UNIT = {"keepalive": "req/s", "mix": "req/s", "newconn": "req/s", "tunnel": "req/s", "bulk": "MB/s",
        BLOCKED: "req/s"}
# bare mitmdump; guarita as shipped; guarita with --https-block-page
KINDS = ("bare", "guarita", "page")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pin(core: int) -> list[str]:
    return ["taskset", "-c", str(core)] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []


def wait_port(port: int, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"proxy exited early ({proc.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port}")


def auth(i: int) -> str:
    u = USERS[i % len(USERS)]
    return "Basic " + base64.b64encode(f"{u}:{u}".encode()).decode()


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    if length:
        await reader.readexactly(length)
    return status


async def http_worker(port: int, wid: int, until: float, keepalive: bool, lat: list[float],
                      hosts: list[str] = TUNNEL_HOSTS) -> int:
    done = 0
    reader = writer = None
    host = hosts[0]
    while time.perf_counter() < until:
        if writer is None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            # one origin per kept-alive connection, as a browser does: mitmproxy's upstream
            # mode stalls a client connection that rotates through many origins
            host = hosts[(wid * 7 + done) % len(hosts)]
        t = time.perf_counter()
        writer.write((f"GET http://{host}/p/{done} HTTP/1.1\r\nHost: {host}\r\n"
                      f"Proxy-Authorization: {auth(wid)}\r\n"
                      f"Connection: {'keep-alive' if keepalive else 'close'}\r\n\r\n").encode())
        await read_response(reader)  # type: ignore[arg-type]
        lat.append(time.perf_counter() - t)
        done += 1
        if not keepalive:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()
    return done


async def tunnel_worker(port: int, wid: int, until: float, lat: list[float],
                        hosts: list[str] = TUNNEL_HOSTS, expect: int | None = None) -> int:
    """CONNECT, TLS handshake and one request per connection. With `expect`, the inner
    answer must have that status: a blocked site whose page the proxy shows (403)."""
    done = 0
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    while time.perf_counter() < until:
        host = hosts[(wid * 7 + done) % len(hosts)]
        t = time.perf_counter()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n"
                     f"Proxy-Authorization: {auth(wid)}\r\n\r\n".encode())
        try:
            status = await read_response(reader)
            if status == 200:
                await writer.start_tls(ctx, server_hostname=host)
                writer.write(f"GET / HTTP/1.1\r\nHost: {host}\r\nAccept: text/html\r\n"
                             "Connection: close\r\n\r\n".encode())
                got = await read_response(reader)
                if expect is not None and got != expect:
                    raise SystemExit(f"{host}: expected {expect} inside the tunnel, got {got}")
        except (ssl.SSLError, ConnectionError, asyncio.IncompleteReadError):
            pass
        writer.close()
        lat.append(time.perf_counter() - t)
        done += 1
    return done


async def bulk_download(port: int, size: int) -> tuple[float, float, float]:
    """One large download through a pass-through tunnel: (MB/s, seconds*1000, same)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    host = TUNNEL_HOSTS[0]
    t = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    writer.write(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n"
                 f"Proxy-Authorization: {auth(0)}\r\n\r\n".encode())
    await read_response(reader)
    await writer.start_tls(ctx, server_hostname=host)
    writer.write(f"GET /size/{size} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
                 .encode())
    await reader.readuntil(b"\r\n\r\n")
    got = 0
    while chunk := await reader.read(1 << 20):
        got += len(chunk)
    writer.close()
    elapsed = time.perf_counter() - t
    if got < size:
        raise SystemExit(f"bulk download cut short: {got} of {size} bytes")
    return got / elapsed / 1e6, elapsed * 1000, elapsed * 1000


async def load(port: int, case: str, seconds: float, conc: int,
               bulk: int = 0) -> tuple[float, float, float]:
    if case == "bulk":
        return await bulk_download(port, bulk)
    until = time.perf_counter() + seconds
    lat: list[float] = []
    if case == "tunnel":
        jobs = [tunnel_worker(port, i, until, lat) for i in range(conc)]
    elif case == BLOCKED:
        # a browser opening a blocked https:// site: a refused CONNECT, or (block page
        # option) the handshake with the proxy's certificate and the page
        jobs = [tunnel_worker(port, i, until, lat, ["www.pornhub.com"], 403)
                for i in range(conc)]
    else:
        jobs = [http_worker(port, i, until, case != "newconn", lat,
                            HOSTS if case == "mix" else TUNNEL_HOSTS) for i in range(conc)]
    started = time.perf_counter()
    counts = await asyncio.gather(*jobs)
    elapsed = time.perf_counter() - started
    lat.sort()
    return sum(counts) / elapsed, lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.99)] * 1000


def lag_counts(mport: int) -> dict[float, float]:
    """Cumulative counts of the guarita_event_loop_lag_seconds histogram (key 1 = all)."""
    out = {0.005: 0.0, 0.01: 0.0, 1: 0.0}
    if not mport:
        return out
    text = urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics").read().decode()
    for line in text.splitlines():
        if line.startswith("guarita_event_loop_lag_seconds_bucket"):
            le = line.split('le="')[1].split('"')[0]
            if le in ("0.005", "0.01"):
                out[float(le)] = float(line.split()[-1])
        elif line.startswith("guarita_event_loop_lag_seconds_count"):
            out[1] = float(line.split()[-1])
    return out


def start(kind: str, upstream: int | None, work: Path,
          *extra: str) -> tuple[subprocess.Popen[bytes], int, int]:
    """One proxy; with `upstream`, chained to it, else in regular mode (it resolves names)."""
    port = free_port()
    mode = ["--mode", f"upstream:http://127.0.0.1:{upstream}"] if upstream else []
    if kind == "bare":
        cmd = [str(BIN / "mitmdump"), "-q", "--listen-port", str(port), *mode,
               "--set", "connection_strategy=lazy", "--set", "http3=false",
               # TLS passes through undecrypted, as in guarita (mitmdump would intercept)
               "--ignore-hosts", ".*"]
        mport = 0
    else:
        mport = free_port()
        cmd = [str(BIN / "guarita"), "run", "--listen-port", str(port), *mode,
               "--metrics-port", str(mport), "--config", str(work / "config" / "policy.yaml")]
        if kind == "page":
            cmd.append("--https-block-page")
        cmd += extra
    proc = subprocess.Popen(pin(0) + cmd, cwd=work, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_port(port, proc)
    return proc, port, mport


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/PID/stat, clock ticks)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def in_namespace(script: str, argv: list[str], names: list[str]) -> int:
    """Run `script` again inside a namespace whose hosts file maps `names` to the origin."""
    with netns.Namespace(dict.fromkeys(names, netns.SITE)) as ns:
        return subprocess.run(ns.command(sys.executable, script, *argv, "--inside")).returncode


def prepare(work: Path, domains: int) -> None:
    shutil.copytree(ROOT / "config", work / "config")
    shutil.copytree(ROOT / "categories", work / "categories")
    if domains:
        lists = work / "var" / "lists" / "padding"
        lists.mkdir(parents=True)
        with open(lists / "domains", "w") as fh:
            for i in range(domains):
                fh.write(f"pad{i:08d}.bench-example.com\n")
    subprocess.run([str(BIN / "guarita"), "categories", "list", "--config",
                    str(work / "config" / "policy.yaml")], cwd=work, check=True,
                   stdout=subprocess.DEVNULL)
    t = time.perf_counter()
    subprocess.run([str(BIN / "guarita"), "check", "http://www.gov.br/", "--level", "1",
                    "--config", str(work / "config" / "policy.yaml")], cwd=work,
                   stdout=subprocess.DEVNULL)
    print(f"index ready ({domains} padding domains) in {time.perf_counter() - t:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--turns", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--domains", type=int, default=5_000_000)
    ap.add_argument("--bulk-mb", type=int, default=1000,
                    help="size of the one large download of the bulk-tunnel case")
    ap.add_argument("--no-micro", action="store_true",
                    help="skip the core and audit-writer micro-benchmarks")
    ap.add_argument("--via", choices=("names", "upstream"),
                    default="names" if netns.available() else "upstream",
                    help="names: the proxies resolve real names (a namespace's hosts file; "
                         "needs root); upstream: both chained to the origin, no resolution")
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.via == "names" and not a.inside:
        raise SystemExit(in_namespace(__file__, sys.argv[1:],
                                      [*HOSTS, *TUNNEL_HOSTS, "www.pornhub.com"]))
    if a.smoke:
        a.turns, a.seconds, a.concurrency, a.domains, a.bulk_mb = 1, 1.0, 4, 0, 20
    if (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})
    if a.via == "names":
        net = FakeNet(netns.SITE, 80, 443).start()
        upstream = None
        print("names resolved by the proxies (hosts file in a network namespace), regular mode")
    else:
        net = FakeNet().start()
        upstream = net.port
        print("both proxies in upstream mode (no resolution by the proxy)")
    results: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}  # CPU-seconds per 1,000 requests
    rss: dict[str, list[float]] = {}
    over_5ms = over_10ms = ticks = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        prepare(work, a.domains)
        for turn in range(a.turns):
            for kind in KINDS:
                proc, port, mport = start(kind, upstream, work)
                try:
                    asyncio.run(load(port, "newconn", 1.0, a.concurrency))  # warm-up: logins
                    before = lag_counts(mport)
                    for case in CASES if kind == "bare" else (*CASES, BLOCKED):
                        c0, t0 = cpu_seconds(proc.pid), time.perf_counter()
                        r = asyncio.run(load(port, case, a.seconds, a.concurrency,
                                             a.bulk_mb * 1_000_000))
                        used, took = cpu_seconds(proc.pid) - c0, time.perf_counter() - t0
                        per_k = used / (r[0] * took / 1000) if case != "bulk" and r[0] else 0.0
                        results.setdefault((case, kind), []).append(r)
                        cpu.setdefault((case, kind), []).append(per_k)
                        print(f"turn {turn + 1} {kind:7} {case:9} {r[0]:8.0f} {UNIT[case]}  "
                              f"p50 {r[1]:6.1f} ms  p99 {r[2]:6.1f} ms"
                              + (f"  CPU {per_k:5.3f} s/1k" if per_k else ""), flush=True)
                    rss.setdefault(kind, []).append(rss_mb(proc.pid))
                    if mport and kind == "guarita":
                        after = lag_counts(mport)
                        over_5ms += (after[1] - after[0.005]) - (before[1] - before[0.005])
                        over_10ms += (after[1] - after[0.01]) - (before[1] - before[0.01])
                        ticks += after[1] - before[1]
                finally:
                    proc.terminate()
                    proc.wait(30)
    net.stop()
    targets = {"keepalive": 0.97, "mix": None, "newconn": None, "tunnel": 0.97, "bulk": 0.99}
    print("\ncase       guarita         bare         ratio*  guarita p50/p99 ms   bare p50/p99 ms")
    for case, target in targets.items():
        g, b = results[(case, "guarita")], results[(case, "bare")]
        gr, br = statistics.median(x[0] for x in g), statistics.median(x[0] for x in b)
        # each turn's bare and guarita runs are neighbours in time: their ratio cancels the
        # machine's drift, and the median of those ratios is the figure to trust
        ratio = statistics.median(x[0] / y[0] for x, y in zip(g, b, strict=True) if y[0])
        verdict = "" if target is None else ("  ok" if ratio >= target else f"  MISSED (target {target:.0%})")
        print(f"{case:10} {gr:7.0f} {UNIT[case]:5} {br:6.0f} {UNIT[case]:5} {ratio:7.2f}   "
              f"{statistics.median(x[1] for x in g):6.1f}/{statistics.median(x[2] for x in g):6.1f}"
              f"         {statistics.median(x[1] for x in b):6.1f}/{statistics.median(x[2] for x in b):6.1f}"
              f"{verdict}")
    print("* median over the turns of guarita/bare within each turn")
    print("\nproxy CPU-seconds per 1,000 requests (median of turns):")
    for case in ("keepalive", "newconn", "tunnel"):
        g, b = statistics.median(cpu[(case, "guarita")]), statistics.median(cpu[(case, "bare")])
        print(f"{case:10} guarita {g:6.3f}  bare {b:6.3f}  ratio {g / b if b else 0:5.2f}"
              f"  (target within 5%)")
    print(f"RSS at the end of each turn, MB: guarita {' '.join(f'{x:.0f}' for x in rss['guarita'])}"
          f"  bare {' '.join(f'{x:.0f}' for x in rss['bare'])}  (target: within 30 MB of bare)")
    print("\nwith --https-block-page (allowed tunnels must not notice it):")
    for case in ("tunnel", "bulk"):
        g, b = results[(case, "page")], results[(case, "bare")]
        ratio = statistics.median(x[0] / y[0] for x, y in zip(g, b, strict=True) if y[0])
        print(f"{case:10} {statistics.median(x[0] for x in g):7.0f} {UNIT[case]:5} ratio vs bare "
              f"{ratio:5.2f}  p50/p99 {statistics.median(x[1] for x in g):6.1f}/"
              f"{statistics.median(x[2] for x in g):6.1f} ms")
    r, p = results[(BLOCKED, "guarita")], results[(BLOCKED, "page")]
    print("blocked https:// site, per attempt:")
    print(f"  refused CONNECT (403)          {statistics.median(x[0] for x in r):7.0f} req/s  "
          f"p50/p99 {statistics.median(x[1] for x in r):6.1f}/{statistics.median(x[2] for x in r):6.1f} ms")
    print(f"  handshake + block page (option) {statistics.median(x[0] for x in p):6.0f} req/s  "
          f"p50/p99 {statistics.median(x[1] for x in p):6.1f}/{statistics.median(x[2] for x in p):6.1f} ms")
    print(f"event-loop stalls in guarita while measured: {over_5ms:.0f} over 5 ms, "
          f"{over_10ms:.0f} over 10 ms, of {ticks:.0f} 100-ms ticks (target: none over 5 ms)")
    if not a.no_micro:
        # the same table: decision latency, index size/load, audit writer (queries on a
        # 10-million-row log: scripts/bench_audit.py on its own, it takes a while)
        smoke = ["--smoke"] if a.smoke else []
        print("\ncore micro-benchmarks:", flush=True)
        subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_core.py"), *smoke], check=True)
        print("\naudit writer:", flush=True)
        subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_audit.py"), *smoke,
                        "--rows", "0"], check=True)


if __name__ == "__main__":
    main()
