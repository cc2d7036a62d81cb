"""Traffic as it really is: host names the proxy resolves itself, on kept-alive connections.

Everything runs in a network namespace of the test's own (`tests/support/netns.py`):
the origin servers on 198.51.100.10:80 and :443, a real `guarita run` in regular mode
(no upstream proxy: it resolves every name through the system resolver, which reads
the namespace's hosts file) and curl as the client. Bare-IP tests hid a lost request:
a connection pinned to its address was never reused, and the sixth request to a name
waited forever for mitmproxy's five connections per address.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import ROOT, Workspace, guarita_cmd, stop_process, wait_until
from tests.support import netns
from tests.support.netns import SITE, Namespace

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not netns.available() or shutil.which("curl") is None,
                       reason="needs root, iproute2 (ip netns) and curl"),
]
PORT = 8080  # a namespace of its own: every port is free
HOSTS = {"www.gov.br": SITE, "www.youtube.com": SITE, "portal.example": SITE,
         "intranet.example": "127.0.0.1"}  # a public-looking name that points home
PROBLEMS = re.compile(r"Traceback|Addon error|RuntimeError|Cannot change server", re.IGNORECASE)


@dataclass
class Named:
    ns: Namespace
    ws: Workspace
    proxy: subprocess.Popen[str]
    origin: subprocess.Popen[str]

    def curl(self, *args: str, timeout: float = 60) -> list[str]:
        """curl in the namespace through the proxy: one `status connects` line per URL."""
        cp = subprocess.run(self.ns.command(
            "curl", "-sk", "--max-time", "10", "-x", f"http://127.0.0.1:{PORT}",
            "-w", "%{http_code} %{num_connects}\\n", *args),
            capture_output=True, text=True, timeout=timeout)
        return cp.stdout.split("\n")[:-1]

    def get(self, urls: list[str], *args: str) -> list[str]:
        """Every URL on one client connection (curl keeps it alive); the statuses."""
        cmd: list[str] = list(args)
        for u in urls:
            cmd += ["-o", "/dev/null", u]
        return [line.split()[0] for line in self.curl(*cmd)]

    def seen(self) -> dict[str, Any]:
        """What reached the origin servers: connections accepted and requests."""
        assert self.origin.stdin and self.origin.stdout
        self.origin.stdin.write("?\n")
        self.origin.stdin.flush()
        return dict(json.loads(self.origin.stdout.readline()))

    def stop(self) -> str:
        return stop_process(self.proxy)


@pytest.fixture
def named(ws: Workspace) -> Iterator[Named]:
    with Namespace(HOSTS) as ns:
        origin = subprocess.Popen(
            ns.command(sys.executable, "-m", "tests.support.fakenet", SITE, "80", "443"),
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert origin.stdout and origin.stdout.readline().strip() == "ready"
        ws.run("session", "login", "servidor", "127.0.0.1", check=True)
        proxy = subprocess.Popen(
            ns.command(*guarita_cmd(), "run", "--listen-port", str(PORT), "--metrics-port", "0",
                       "--config", str(ws.config)),
            cwd=ws.root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        def listening() -> bool:
            if proxy.poll() is not None:
                raise AssertionError(f"guarita run exited: {proxy.stdout.read() if proxy.stdout else ''}")
            return subprocess.run(ns.command("bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{PORT}"),
                                  capture_output=True).returncode == 0

        wait_until(listening, timeout=30, what="guarita run listening in the namespace")
        n = Named(ns, ws, proxy, origin)
        try:
            yield n
        finally:
            n.stop()
            origin.terminate()
            origin.wait(10)


def audit(ws: Workspace) -> list[sqlite3.Row]:
    conn = sqlite3.connect(ws.var / "audit.db")
    conn.row_factory = sqlite3.Row
    return conn.execute("SELECT * FROM audit ORDER BY id").fetchall()


def test_twenty_kept_alive_requests_to_a_name_are_all_answered_on_one_connection(
        named: Named) -> None:
    urls = [f"http://www.gov.br/q{i}" for i in range(1, 21)]
    assert named.get(urls) == ["200"] * 20
    seen = named.seen()
    assert [s for s in seen["seen"] if s.startswith("GET /q")] == [f"GET /q{i}" for i in range(1, 21)]
    # the proxy kept its upstream connection too: one, not one per request
    assert seen["connections"] == 1
    log = named.stop()
    assert not PROBLEMS.search(log), log
    rows = audit(named.ws)
    assert {r["host"] for r in rows} == {"www.gov.br"}  # the name asked for, never the address
    assert [r["decision"] for r in rows] == ["allow"] * 20


def test_new_connections_kept_alive_tunnels_and_refused_names_log_nothing_wrong(
        named: Named) -> None:
    for i in range(8):  # a new client connection each time
        assert named.get([f"http://portal.example/n{i}"]) == ["200"]
    https = [f"https://www.gov.br/t{i}" for i in range(6)]
    assert named.get(https) == ["200"] * 6  # one CONNECT, kept alive inside
    # a name that resolves to the proxy's own host: refused, both ways, and said once
    # (mitmproxy answers a connection it could not open with 502; the page says "bloqueado")
    assert named.get(["http://intranet.example/metrics"]) == ["502"]
    assert named.get(["https://intranet.example/"]) == ["000"]  # the tunnel is refused
    # blocked by category on a name: the block page, and nothing reaches the origin
    assert named.get(["http://www.youtube.com/watch"], "-H", "Accept: text/html") == ["403"]
    seen = named.seen()["seen"]
    assert not any("youtube" in s or "/metrics" in s for s in seen), seen
    log = named.stop()
    assert not PROBLEMS.search(log), log
    rows = audit(named.ws)
    by_host = {(r["host"], r["rule"]) for r in rows if r["decision"] == "block"}
    assert ("intranet.example", "destination.forbidden") in by_host
    assert any(h == "www.youtube.com" for h, _ in by_host)
    tunnels = [r for r in rows if r["method"] == "CONNECT" and r["host"] == "www.gov.br"]
    assert len(tunnels) == 1 and tunnels[0]["decision"] == "allow"
    assert sum(1 for r in rows if r["host"] == "portal.example") == 8


def test_a_name_rebound_to_loopback_between_connections_is_refused(named: Named) -> None:
    """The hosts file changes under a running proxy: the next connection is checked again."""
    assert named.get(["http://portal.example/before"]) == ["200"]
    hosts = named.ns.etc / "hosts"
    hosts.write_text(hosts.read_text().replace(f"{SITE} portal.example", "127.0.0.1 portal.example"))
    wait_until(lambda: named.get(["http://portal.example/after"]) == ["502"], timeout=20,
               what="the rebound name refused")
    assert not any("/after" in s for s in named.seen()["seen"])
