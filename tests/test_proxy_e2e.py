"""A real `guarita run` and real traffic (curl) to a local upstream, HTTP and HTTPS."""

from __future__ import annotations

import shutil
import socket
import sqlite3
import subprocess
import time

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")]


def curl(proxy, url: str, *args: str) -> subprocess.CompletedProcess[str]:  # noqa: ANN001
    return subprocess.run(["curl", "-sk", "-x", proxy.url, "-w", "\n%{http_code}", *args, url],
                          capture_output=True, text=True, timeout=30)


def status(cp: subprocess.CompletedProcess[str]) -> str:
    return cp.stdout.rsplit("\n", 1)[-1]


def test_machine_without_session_is_level0_with_a_challenge(proxy) -> None:  # noqa: ANN001
    cp = curl(proxy, "http://www.gov.br/")
    assert status(cp) == "407" and "level0.no_user" in cp.stdout
    assert not proxy.net.seen


def test_allowed_and_blocked_http_and_https(proxy) -> None:  # noqa: ANN001
    proxy.ws.run("session", "login", "servidor", "127.0.0.1", check=True)
    time.sleep(2.5)
    ok = curl(proxy, "http://www.gov.br/a?x=1", "-d", "payload")
    assert status(ok) == "200" and "upstream POST http://www.gov.br/a?x=1" in ok.stdout
    assert "len=7" in ok.stdout  # the body arrives intact
    tls = curl(proxy, "https://www.gov.br/b")
    assert status(tls) == "200" and "tls-upstream GET /b host=www.gov.br" in tls.stdout
    page = curl(proxy, "http://www.pornhub.com/", "-H", "Accept: text/html")
    assert status(page) == "403" and "Acesso bloqueado" in page.stdout
    assert "Conteúdo adulto" in page.stdout and "Referência" in page.stdout
    blocked_connect = curl(proxy, "https://www.pornhub.com/")
    assert blocked_connect.returncode != 0 or status(blocked_connect) in ("403", "000")
    assert not any("pornhub" in s for s in proxy.net.seen)


def test_domain_fronting_and_sni_mismatch_are_blocked(proxy) -> None:  # noqa: ANN001
    proxy.ws.run("session", "login", "servidor", "127.0.0.1", check=True)
    time.sleep(2.5)
    fronted = curl(proxy, "http://www.gov.br/", "-H", "Host: www.xvideos.com")
    assert status(fronted) == "403" and "category.blocked" in fronted.stdout
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as raw:
        raw.sendall(b"GET http://www.gov.br/ HTTP/1.1\r\nHost: www.gov.br\r\n"
                    b"Host: www.xvideos.com\r\n\r\n")
        answer = raw.recv(4096)
    assert answer.split(b" ")[1] in (b"400", b"403"), answer[:80]  # never a joined string
    before = list(proxy.net.seen)
    sni = subprocess.run(["curl", "-sk", "-x", proxy.url, "--connect-to",
                          "www.pornhub.com:443:www.gov.br:443", "https://www.pornhub.com/"],
                         capture_output=True, text=True, timeout=30)
    assert sni.returncode != 0
    assert not any("TLS" in s for s in proxy.net.seen[len(before):])
    ssh = curl(proxy, "https://www.gov.br:22/")
    assert status(ssh) in ("403", "000")


def test_category_edit_and_block_reach_the_running_proxy(proxy) -> None:  # noqa: ANN001
    ws = proxy.ws
    ws.run("session", "login", "servidor", "127.0.0.1", check=True)
    time.sleep(2.5)
    assert status(curl(proxy, "http://novo-jogo.example/")) == "200"
    ws.run("categories", "add", "games", "novo-jogo.example", check=True)
    time.sleep(5)
    assert status(curl(proxy, "http://novo-jogo.example/")) == "403"
    ws.run("block", "machine", "127.0.0.1", "--reason", "teste", check=True)
    time.sleep(2.5)
    cp = curl(proxy, "http://www.gov.br/")
    assert status(cp) == "403" and "blocked.machine" in cp.stdout


def test_graceful_stop_writes_one_audit_record_per_request(proxy) -> None:  # noqa: ANN001
    proxy.ws.run("session", "login", "servidor", "127.0.0.1", check=True)
    time.sleep(2.5)
    n = 20
    for i in range(n):
        curl(proxy, f"http://www.gov.br/{i}")
    proxy.stop()
    conn = sqlite3.connect(proxy.ws.var / "audit.db")
    rows = conn.execute("SELECT count(*) FROM audit WHERE host = 'www.gov.br'").fetchone()[0]
    assert rows == n
    q = proxy.ws.run("audit", "query", "--host", "www.gov.br", "--format", "json", "--limit", "100")
    import json
    assert len(json.loads(q.stdout)) == n


def test_release_grant_and_revoke_reach_the_running_proxy(proxy) -> None:  # noqa: ANN001
    ws = proxy.ws
    ws.run("session", "login", "servidor", "127.0.0.1", check=True)
    time.sleep(2.5)
    assert status(curl(proxy, "http://www.youtube.com/")) == "403"
    cp = ws.run("release", "grant", "--to", "user:servidor", "--domain", "youtube.com", "--days",
                "2", "--reason", "curso", check=True)
    rid = cp.stdout.split("#")[1].split()[0]
    time.sleep(2.5)
    assert status(curl(proxy, "http://www.youtube.com/")) == "200"
    ws.run("release", "revoke", rid, "--reason", "fim", check=True)
    time.sleep(2.5)
    assert status(curl(proxy, "http://www.youtube.com/")) == "403"
    rows = sqlite3.connect(ws.var / "audit.db").execute(
        "SELECT count(*) FROM audit WHERE release_id = ?", (int(rid),)).fetchone()[0]
    # the allowed request is recorded once the proxy stops or flushes
    proxy.stop()
    rows = sqlite3.connect(ws.var / "audit.db").execute(
        "SELECT count(*) FROM audit WHERE release_id = ?", (int(rid),)).fetchone()[0]
    assert rows == 1


def test_block_page_form_creates_a_pending_request(proxy) -> None:  # noqa: ANN001
    ws = proxy.ws
    ws.run("session", "login", "servidor", "127.0.0.1", check=True)
    time.sleep(2.5)
    cp = curl(proxy, "http://www.youtube.com/.guarita/request", "-d", "host=www.youtube.com",
              "-d", "reason=<script>curso</script>", "-d", "days=3")
    assert status(cp) == "200" and "não é uma" in cp.stdout and "<script>" not in cp.stdout
    assert not any("youtube" in s for s in proxy.net.seen)
    import json
    pending = json.loads(ws.run("release", "requests", "--format", "json", check=True).stdout)
    assert len(pending) == 1 and pending[0]["target"] == "user:servidor"
    assert pending[0]["object"] == "www.youtube.com" and pending[0]["status"] == "requested"


def test_undecrypted_tunnel_is_one_record_with_its_bytes_and_duration(proxy) -> None:  # noqa: ANN001
    proxy.ws.run("session", "login", "servidor", "127.0.0.1", check=True)
    time.sleep(2.5)
    big = curl(proxy, "https://www.gov.br/size/200000", "-o", "/dev/null")
    assert status(big) == "200"
    proxy.stop()
    rows = sqlite3.connect(proxy.ws.var / "audit.db").execute(
        "SELECT bytes_in, bytes_out, duration_ms, status, decision FROM audit "
        "WHERE method = 'CONNECT'").fetchall()
    assert len(rows) == 1
    up, down, duration, code, decision = rows[0]
    assert (code, decision) == (200, "allow") and duration > 0
    assert 200 < up < 5000  # ClientHello, key exchange and one small request
    assert 200_000 < down < 220_000  # the body, TLS records and the handshake
