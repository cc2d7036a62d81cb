"""The DNS companion of a real `guarita run --dns-port`, asked by `dig` over UDP and TCP in a
network namespace of the test's own (its hosts file is the only source of answers)."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess

import pytest
import yaml

from tests.conftest import Workspace, guarita_cmd, stop_process, wait_until
from tests.support import netns
from tests.support.netns import SITE, Namespace

pytestmark = pytest.mark.skipif(not netns.available() or shutil.which("dig") is None,
                                reason="needs root, iproute2 (ip netns) and dig")


SAFE = "198.51.100.77"  # forcesafesearch.google.com, in the namespace's hosts file


def test_dig_over_udp_and_tcp_gets_the_policys_answers(ws: Workspace) -> None:
    tree = yaml.safe_load(ws.config.read_text())
    tree["dns"]["safesearch"] = [2]
    ws.config.write_text(yaml.safe_dump(tree, allow_unicode=True))
    with Namespace({"www.gov.br": SITE, "dns.google": SITE, "www.google.com": SITE,
                    "forcesafesearch.google.com": SAFE}) as ns:
        ws.run("session", "login", "servidor", "127.0.0.1", check=True)
        proxy = subprocess.Popen(ns.command(
            *guarita_cmd(), "run", "--listen-port", "8080", "--metrics-port", "0",
            "--dns-port", "53", "--config",
            str(ws.config)), cwd=ws.root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)

        def dig(name: str, *args: str) -> str:
            return subprocess.run(ns.command("dig", "+time=3", "+tries=1", "@127.0.0.1", name,
                                             *args),
                                  capture_output=True, text=True, timeout=30).stdout

        try:
            wait_until(lambda: "status:" in dig("www.gov.br"), timeout=30,
                       what="the DNS companion answering")
            for transport in ((), ("+tcp",)):
                answer = dig("www.gov.br", *transport)
                assert "status: NOERROR" in answer and SITE in answer  # the hosts file's
                assert "status: NXDOMAIN" in dig("use-application-dns.net", *transport)
                # in the hosts file too, yet never looked up: refused at level 2
                blocked = dig("dns.google", *transport)
                assert "status: NXDOMAIN" in blocked and SITE not in blocked
                # level 2 searches safely: Google's own SafeSearch name, as a CNAME
                safe = dig("www.google.com", *transport)
                assert "CNAME\tforcesafesearch.google.com." in safe, safe
                assert SAFE in safe and SITE not in safe
        finally:
            output = stop_process(proxy)
    assert "Traceback" not in output and "Addon error" not in output, output
    with sqlite3.connect(ws.var / "audit.db") as conn:
        rows = conn.execute("SELECT host, rule, status, \"user\" FROM audit WHERE method = 'DNS' "
                            "AND host != 'www.gov.br' OR rule = 'dns.answered' ORDER BY id"
                            ).fetchall()
    assert ("use-application-dns.net", "dns.canary", 3, "servidor") in rows
    assert ("dns.google", "dns.refused", 3, "servidor") in rows
    assert ("www.gov.br", "dns.answered", 0, "servidor") in rows
