"""`guarita run --workers`: the supervisor alone (stand-in workers), then a real one end to end."""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from addon import workers
from addon.errors import GuaritaError
from tests.conftest import Workspace, free_port, guarita_cmd, start_proxy, wait_until
from tests.conftest import proxied_get as get

SLEEPER = [sys.executable, "-c",
           "import signal, sys, time\n"
           "signal.signal(signal.SIGHUP, lambda *a: open(sys.argv[1], 'a').write('hup\\n'))\n"
           "open(sys.argv[1], 'a').write('ready\\n')\n"  # its handler is in place
           "while True: time.sleep(0.05)\n"]


def test_worker_count_is_a_number_or_the_cores() -> None:
    assert workers.resolve_count("3") == 3
    assert workers.resolve_count("auto") == len(os.sched_getaffinity(0))
    for bad in ("0", "-1", "many", "257"):
        with pytest.raises(GuaritaError, match="--workers"):
            workers.resolve_count(bad)


def test_a_port_in_use_is_one_line_and_port_0_becomes_a_real_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(GuaritaError, match="cannot listen on 127.0.0.1:"):
            workers.reserve_port("127.0.0.1", taken.getsockname()[1])
    held = workers.reserve_port("127.0.0.1", 0)
    try:
        port = held.getsockname()[1]
        assert port > 0
        joined = socket.socket()  # a worker joins the group on the same port
        joined.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        joined.bind(("127.0.0.1", port))
        joined.close()
    finally:
        held.close()


def test_supervisor_restarts_a_dead_worker_passes_sighup_and_stops_all(tmp_path: Path) -> None:
    marks = [tmp_path / f"w{i}" for i in range(2)]
    sup = workers.Supervisor(2, lambda i: [*SLEEPER, str(marks[i])], str(tmp_path))
    sup.start()

    def lines(i: int) -> list[str]:
        return marks[i].read_text().split() if marks[i].exists() else []

    try:
        wait_until(lambda: lines(0) == lines(1) == ["ready"], what="both workers ready")
        first = sup.pids()
        os.kill(first[1], signal.SIGKILL)
        sup.workers[1].proc.wait(5)
        sup.check()
        assert sup.pids()[0] == first[0] and sup.pids()[1] != first[1] and sup.restarts == 1
        wait_until(lambda: lines(1) == ["ready", "ready"], what="the new worker's SIGHUP handler")
        sup.request_hangup()
        sup.check()
        wait_until(lambda: lines(0) == ["ready", "hup"] and lines(1) == ["ready", "ready", "hup"],
                   what="SIGHUP in both workers")
    finally:
        codes = sup.stop()
    assert codes == [-signal.SIGTERM, -signal.SIGTERM]
    assert all(w.proc.poll() is not None for w in sup.workers)


def test_a_worker_that_keeps_dying_stops_everything(tmp_path: Path) -> None:
    sup = workers.Supervisor(1, lambda i: [sys.executable, "-c", "raise SystemExit(3)"],
                             str(tmp_path))
    sup.start()
    with pytest.raises(GuaritaError, match="worker 0 exited 5 times .*last code 3"):
        for t in range(10):
            sup.workers[0].proc.wait(10)
            sup.check(now=float(t))
    sup.stop()


def children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                out.append(int(entry))
    return sorted(out)


def audited(ws: Workspace, like: str) -> int:
    conn = sqlite3.connect(ws.var / "audit.db")
    try:
        return int(conn.execute("SELECT count(*) FROM audit WHERE path LIKE ?", (like,))
                   .fetchone()[0])
    finally:
        conn.close()


@pytest.mark.e2e
def test_two_workers_answer_audit_and_survive_a_killed_worker(ws: Workspace) -> None:
    metrics = free_port()
    p = start_proxy(ws, "--workers", "2", "--metrics-port", str(metrics))
    try:
        wait_until(lambda: len(children(p.proc.pid)) == 2, what="two workers")
        ws.run("session", "login", "servidor", "127.0.0.1", check=True)
        # until both workers read the session: 40 new connections in a row land on both
        # (SO_REUSEPORT spreads them by port; all on one worker is a 1 in 2^39 chance)
        wait_until(lambda: all(get(p, "/probe") == 200 for _ in range(40)),
                   what="the session in both workers")
        # many client connections, each its own: the kernel spreads them over both workers,
        # and every one is identified by the machine's session
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            codes = list(pool.map(lambda i: get(p, f"/many/{i}"), range(200)))
        assert codes == [200] * 200
        body = urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=10).read()
        samples = [s for f in text_string_to_metric_families(body.decode()) for s in f.samples]
        served = sum(s.value for s in samples
                     if s.name == "guarita_requests_total" and s.labels["decision"] == "allow")
        assert served >= 206  # both workers' counters, summed on one endpoint
        assert [s.labels for s in samples if s.name == "guarita_policy_info" and s.value == 1] \
            == [{"sha256": hashlib.sha256(ws.config.read_bytes()).hexdigest()}]

        # each worker writes its queue every 0.1 s: a kill loses at most that much, so
        # once the records are on disk a killed worker takes none of them along
        wait_until(lambda: audited(ws, "/many/%") == 200, timeout=5, what="the flush")
        victim = children(p.proc.pid)[1]
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: len(children(p.proc.pid)) == 2 and victim not in children(p.proc.pid),
                   timeout=30, what="the killed worker started again")
        wait_until(lambda: all(get(p, f"/after/{i}") == 200 for i in range(10)), timeout=30,
                   what="both workers answering")
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            codes = list(pool.map(lambda i: get(p, f"/later/{i}"), range(100)))
        assert codes == [200] * 100
    finally:
        out = p.stop()
        p.net.stop()
    assert "stopped; audit log flushed" in out, out
    assert audited(ws, "/many/%") == 200
    assert audited(ws, "/later/%") == 100  # graceful stop: every worker wrote its queue
    assert not children(p.proc.pid)
    # the log verifies: one chain per worker process that wrote (the kernel decides which
    # got connections), the killed one's sealed but never signed (issue 26)
    cp = ws.run("audit", "verify")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    chains = int(re.search(r"of (\d+) chains", cp.stdout).group(1))  # type: ignore[union-attr]
    assert chains >= 2, cp.stdout


@pytest.mark.e2e
def test_workers_refuse_a_taken_port_in_one_line(ws: Workspace) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        cp = subprocess.run([*guarita_cmd(), "run", "--workers", "2", "--listen-port",
                             str(taken.getsockname()[1]), "--metrics-port", "0", "--config",
                             str(ws.config)], cwd=ws.root, capture_output=True, text=True,
                            timeout=60)
    assert cp.returncode != 0
    assert "cannot listen on 127.0.0.1:" in cp.stderr and "Traceback" not in cp.stderr
