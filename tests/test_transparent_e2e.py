"""`guarita run --transparent-port`: a machine never configured for the proxy, caught by the
gateway's redirect, as the kernel really does it.

Two network namespaces of the test's own (`tests/support/netns.py`): the gateway, which
holds the origin servers (198.51.100.10:80 and :443), a real `guarita run` and an nftables
`redirect` of the LAN's web traffic to the transparent listener; and a LAN machine whose
only route goes through the gateway. The machine's curl talks to the site's address as if
there were no proxy; nothing leaves the two namespaces.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.conftest import ROOT, Workspace, guarita_cmd, stop_process, wait_until
from tests.support import netns
from tests.support.netns import SITE, Client, Namespace

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not netns.available() or shutil.which("curl") is None
                       or shutil.which("nft") is None,
                       reason="needs root, iproute2 (ip netns), nftables and curl"),
]
PROXY, TRANSPARENT = 8080, 8081
HOSTS = {"www.gov.br": SITE, "www.youtube.com": SITE}
RULES = f"""table ip gateway {{
  chain prerouting {{
    type nat hook prerouting priority dstnat;
    ip saddr {Client.ADDRESS} tcp dport {{ 80, 443 }} redirect to :{TRANSPARENT}
  }}
}}
"""


@dataclass
class Lan:
    gateway: Namespace
    machine: Client
    ws: Workspace
    proxy: subprocess.Popen[str]

    def curl(self, *args: str) -> tuple[int, str]:
        """curl on the LAN machine, no proxy configured: (exit status, status code)."""
        cp = subprocess.run(self.machine.command(
            "curl", "-sk", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}", *args),
            capture_output=True, text=True, timeout=30)
        return cp.returncode, cp.stdout

    def records(self) -> list[sqlite3.Row]:
        conn = sqlite3.connect(self.ws.var / "audit.db")
        conn.row_factory = sqlite3.Row
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'audit'").fetchone():
            return []
        return conn.execute("SELECT * FROM audit ORDER BY id").fetchall()

    def wait_for(self, expected: set[tuple[str, ...]]) -> list[sqlite3.Row]:
        """This machine's records, once they hold every (method, host, decision) expected
        (a tunnel is recorded when it closes)."""
        def mine() -> list[sqlite3.Row]:
            return [r for r in self.records() if r["client_ip"] == Client.ADDRESS]

        wait_until(lambda: {(r["method"], r["host"], r["decision"]) for r in mine()} >= expected,
                   timeout=20, what=f"the records {sorted(expected)}")
        return mine()


@pytest.fixture
def lan(ws: Workspace) -> Iterator[Lan]:
    with Namespace(HOSTS) as gateway, Client(gateway) as machine:
        cp = subprocess.run(gateway.command("nft", "-f", "-"), input=RULES, text=True,
                            capture_output=True)
        if cp.returncode:
            pytest.skip(f"this kernel refuses an nftables redirect: {cp.stderr.strip()}")
        origin = subprocess.Popen(
            gateway.command(sys.executable, "-m", "tests.support.fakenet", SITE, "80", "443"),
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert origin.stdout and origin.stdout.readline().strip() == "ready"
        proxy = subprocess.Popen(
            gateway.command(*guarita_cmd(), "run", "--listen-port", str(PROXY),
                            "--transparent-port", str(TRANSPARENT), "--metrics-port", "0",
                            "--config", str(ws.config)),
            cwd=ws.root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

        def listening() -> bool:
            if proxy.poll() is not None:
                out = proxy.stdout.read() if proxy.stdout else ""
                raise AssertionError(f"guarita run exited: {out}")
            return subprocess.run(gateway.command(
                "bash", "-c", f"exec 3<>/dev/tcp/{Client.GATEWAY}/{TRANSPARENT}"),
                capture_output=True).returncode == 0

        wait_until(listening, timeout=30, what="the transparent listener")
        try:
            yield Lan(gateway, machine, ws, proxy)
        finally:
            log = stop_process(proxy)
            origin.terminate()
            origin.wait(10)
            assert "Traceback" not in log and "Addon error" not in log, log


def test_a_redirected_machine_is_decided_by_name_and_session_over_http_and_tls(lan: Lan) -> None:
    lan.ws.run("session", "login", "servidor", Client.ADDRESS, check=True)
    # the session reaches the running proxy within its refresh: poll for the allowed answer
    wait_until(lambda: lan.curl(f"http://{SITE}/q1", "-H", "Host: www.gov.br") == (0, "200"),
               timeout=20, what="servidor's session on the redirected machine")
    # the Host header decides, whatever address the packets went to
    assert lan.curl(f"http://{SITE}/v", "-H", "Host: www.youtube.com") == (0, "403")
    # TLS, decided on the SNI and passed through undecrypted
    resolve = f"www.gov.br:443:{SITE}"
    assert lan.curl("--resolve", resolve, "https://www.gov.br/t") == (0, "200")
    code, _ = lan.curl("--resolve", f"www.youtube.com:443:{SITE}", "https://www.youtube.com/")
    assert code != 0  # a refused handshake
    mine = lan.wait_for({("GET", "www.gov.br", "allow"), ("GET", "www.youtube.com", "block"),
                         ("TLS", "www.gov.br", "allow"), ("TLS", "www.youtube.com", "block")})
    assert {r["source"] for r in mine} == {"transparent"}
    assert {r["user"] for r in mine if r["decision"] == "allow"} == {"servidor"}


def test_a_redirected_machine_with_no_session_gets_level_0(lan: Lan) -> None:
    code, status = lan.curl(f"http://{SITE}/", "-H", "Host: www.gov.br")
    assert (code, status) == (0, "403")  # the explanation page, never a 407
    code, _ = lan.curl("--resolve", f"www.gov.br:443:{SITE}", "https://www.gov.br/")
    assert code != 0
    rows = lan.wait_for({("GET", "www.gov.br", "block"), ("TLS", "www.gov.br", "block")})
    assert {(r["method"], r["rule"], r["source"]) for r in rows} == {
        ("GET", "level0.no_user", "transparent"), ("TLS", "level0.no_user", "transparent")}
