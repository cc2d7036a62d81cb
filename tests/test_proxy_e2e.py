"""A real `guarita run` and real traffic (curl, raw sockets) to a local upstream, HTTP and HTTPS.

Every wait polls for the fact it needs (a session seen, a record written), never a fixed sleep.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import time

import pytest

from tests.conftest import Proxy, free_port, start_proxy, use_kerberos, wait_until
from tests.support import hello
from tests.support import kdc as kerberos

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")]


def curl(proxy: Proxy, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["curl", "-sk", "-x", proxy.url, "-w", "\n%{http_code}", *args, url],
                          capture_output=True, text=True, timeout=60)


def status(cp: subprocess.CompletedProcess[str]) -> str:
    return cp.stdout.rsplit("\n", 1)[-1]


def login(proxy: Proxy, user: str, ip: str = "127.0.0.1") -> None:
    """Open a session and wait until the running proxy follows it."""
    proxy.ws.run("session", "login", user, ip, check=True)
    wait_until(lambda: status(curl(proxy, "http://www.gov.br/")) == "200", what="the session")


def audit_rows(proxy: Proxy, where: str = "1") -> list[tuple]:
    conn = sqlite3.connect(proxy.ws.var / "audit.db")
    return conn.execute(f"SELECT * FROM audit WHERE {where} ORDER BY id").fetchall()  # noqa: S608


def test_machine_without_session_is_level0_with_a_challenge(proxy: Proxy) -> None:
    cp = curl(proxy, "http://www.gov.br/")
    assert status(cp) == "407" and "level0.no_user" in cp.stdout
    page = curl(proxy, "http://www.gov.br/", "-H", "Accept: text/html")
    assert status(page) == "407" and "Identifique-se para usar a internet" in page.stdout
    assert "usuário e a sua senha da rede" in page.stdout  # what to do, in the 407's body
    assert not proxy.net.seen


def test_allowed_and_blocked_http_and_https(proxy: Proxy) -> None:
    login(proxy, "servidor")
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


def test_domain_fronting_and_sni_mismatch_are_blocked(proxy: Proxy) -> None:
    login(proxy, "servidor")
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


def test_category_edit_and_block_reach_the_running_proxy(proxy: Proxy) -> None:
    ws = proxy.ws
    login(proxy, "servidor")
    assert status(curl(proxy, "http://novo-jogo.example/")) == "200"
    ws.run("categories", "add", "games", "novo-jogo.example", check=True)
    wait_until(lambda: status(curl(proxy, "http://novo-jogo.example/")) == "403",
               what="the category edit")
    ws.run("block", "machine", "127.0.0.1", "--reason", "teste", check=True)
    wait_until(lambda: "blocked.machine" in curl(proxy, "http://www.gov.br/").stdout,
               what="the machine block")


def test_graceful_stop_writes_one_audit_record_per_request(proxy: Proxy) -> None:
    login(proxy, "servidor")
    n = 20
    for i in range(n):
        curl(proxy, f"http://www.gov.br/{i}")
    proxy.stop()
    assert len(audit_rows(proxy, "path LIKE '/%' AND host = 'www.gov.br' AND path != '/'")) == n
    q = proxy.ws.run("audit", "query", "--host", "www.gov.br", "--format", "json", "--limit", "100")
    assert len(json.loads(q.stdout)) >= n
    # sealed as written and signed at the stop, the checkpoint in the witness (issue 26)
    v = proxy.ws.run("audit", "verify")
    assert v.returncode == 0 and "records sealed after" not in v.stdout, v.stdout
    witnessed = re.search(r"\((\d+) in the witness\)", v.stdout)
    assert witnessed and int(witnessed.group(1)) >= 1, v.stdout
    assert (proxy.ws.var / "audit-key.pem").stat().st_mode & 0o077 == 0


def test_hole1_a_non_utf8_method_is_recorded_and_the_log_keeps_going(proxy: Proxy) -> None:
    login(proxy, "servidor")
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as raw:
        raw.sendall(b"G\xffT http://www.gov.br/evil HTTP/1.1\r\nHost: www.gov.br\r\n\r\n")
        raw.recv(4096)
    for i in range(20):
        curl(proxy, f"http://www.gov.br/after/{i}")
    proxy.stop()
    assert len(audit_rows(proxy, "path LIKE '/after/%'")) == 20
    assert [r[8] for r in audit_rows(proxy, "path = '/evil'")] == ["G\\xffT"]


def test_release_grant_and_revoke_reach_the_running_proxy(proxy: Proxy) -> None:
    ws = proxy.ws
    login(proxy, "servidor")
    assert status(curl(proxy, "http://www.youtube.com/")) == "403"
    cp = ws.run("release", "grant", "--to", "user:servidor", "--domain", "youtube.com", "--days",
                "2", "--reason", "curso", check=True)
    rid = cp.stdout.split("#")[1].split()[0]
    wait_until(lambda: status(curl(proxy, "http://www.youtube.com/")) == "200", what="the grant")
    ws.run("release", "revoke", rid, "--reason", "fim", check=True)
    wait_until(lambda: status(curl(proxy, "http://www.youtube.com/")) == "403", what="the revoke")
    proxy.stop()
    assert len(audit_rows(proxy, f"release_id = {int(rid)}")) >= 1


def test_hole3_block_page_form_lives_on_the_reserved_host_only(proxy: Proxy) -> None:
    ws = proxy.ws
    login(proxy, "servidor")
    old_way = curl(proxy, "http://www.youtube.com/.guarita/request", "-d", "host=www.youtube.com",
                   "-d", "reason=curso")
    assert status(old_way) == "403"  # any other host is decided like any request
    page = curl(proxy, "http://www.youtube.com/", "-H", "Accept: text/html")
    token = re.search(r'name="token" value="([^"]+)"', page.stdout).group(1)  # the page's own
    forged = curl(proxy, "http://guarita.invalid/pedido", "-d", "host=www.youtube.com",
                  "-d", "reason=curso")  # as a page elsewhere would post it: no token
    assert status(forged) == "400" and "expirou" in forged.stdout
    cp = curl(proxy, "http://guarita.invalid/pedido", "-d", "host=www.youtube.com",
              "-d", "reason=<script>curso</script>", "-d", "days=3", "-d", f"token={token}")
    assert status(cp) == "200" and "não é uma" in cp.stdout and "<script>" not in cp.stdout
    assert not any("youtube" in s or "guarita.invalid" in s for s in proxy.net.seen)
    pending = json.loads(ws.run("release", "requests", "--format", "json", check=True).stdout)
    assert len(pending) == 1 and pending[0]["target"] == "user:servidor"
    assert pending[0]["object"] == "www.youtube.com" and pending[0]["status"] == "requested"


def test_undecrypted_tunnel_is_one_record_with_its_bytes_and_duration(proxy: Proxy) -> None:
    login(proxy, "servidor")
    big = curl(proxy, "https://www.gov.br/size/200000", "-o", "/dev/null")
    assert status(big) == "200"
    proxy.stop()
    conn = sqlite3.connect(proxy.ws.var / "audit.db")
    rows = conn.execute("SELECT bytes_in, bytes_out, duration_ms, status, decision FROM audit "
                        "WHERE method = 'CONNECT'").fetchall()
    assert len(rows) == 1
    up, down, duration, code, decision = rows[0]
    assert (code, decision) == (200, "allow") and duration > 0
    assert 200 < up < 5000  # ClientHello, key exchange and one small request
    assert 200_000 < down < 220_000  # the body, TLS records and the handshake


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS"))


def test_hole7_a_100mb_upload_streams_through_without_growing_the_proxy(proxy: Proxy,
                                                                       tmp_path) -> None:  # noqa: ANN001
    login(proxy, "servidor")
    big = tmp_path / "big.bin"
    with open(big, "wb") as fh:
        fh.truncate(100 << 20)
    before = rss_kb(proxy.proc.pid)
    cp = curl(proxy, "http://www.gov.br/upload", "--data-binary", f"@{big}")
    assert status(cp) == "200" and f"len={100 << 20}" in cp.stdout
    grown = rss_kb(proxy.proc.pid) - before
    assert grown < 30_000, f"the proxy grew {grown} kB for a 100 MB body"
    proxy.stop()
    assert audit_rows(proxy, "path = '/upload'")[0][18] == 100 << 20  # bytes_in, counted


def test_hole4_intercept_with_proxy_auth_carries_the_login_into_the_tunnel(ws) -> None:  # noqa: ANN001
    p = start_proxy(ws, "--intercept", "--set", "ssl_insecure=true")
    try:
        cp = curl(p, "https://www.gov.br/inside", "-U", "servidor:servidor")
        assert status(cp) == "200" and "tls-upstream GET /inside" in cp.stdout
        blocked = curl(p, "https://www.youtube.com/x", "-U", "servidor:servidor")
        assert status(blocked) in ("403", "000")
    finally:
        p.stop()
        p.net.stop()
    rows = sqlite3.connect(ws.var / "audit.db").execute(
        "SELECT method, path, \"user\", decision FROM audit WHERE path = '/inside'").fetchall()
    assert rows == [("GET", "/inside", "servidor", "allow")]


@pytest.mark.skipif(os.uname().sysname != "Linux", reason="uses this machine's host name")
def test_hole2_a_name_that_resolves_to_this_machine_is_refused(ws) -> None:  # noqa: ANN001
    name = socket.gethostname()
    try:
        addrs = {a[4][0] for a in socket.getaddrinfo(name, 80)}
    except OSError:
        pytest.skip(f"{name} does not resolve")
    if not all(a.startswith("127.") or a == "::1" for a in addrs):
        pytest.skip(f"{name} resolves to {addrs}, not to loopback only")
    local = socket.socket()
    local.bind(("127.0.0.1", free_port()))
    local.listen()
    local.settimeout(0.5)
    p = start_proxy(ws, upstream=False)  # regular mode: guarita connects by itself
    try:
        login_cp = ws.run("session", "login", "membro", "127.0.0.1", check=True)
        assert login_cp.returncode == 0
        port = local.getsockname()[1]
        wait_until(lambda: "destination.forbidden" in curl(p, f"http://{name}:{port}/").stdout
                   or status(curl(p, f"http://{name}:{port}/")) == "502", what="a refusal")
        with pytest.raises(TimeoutError):
            local.accept()  # nothing ever reached the local service
    finally:
        local.close()
        p.stop()
        p.net.stop()
    seen = set(sqlite3.connect(ws.var / "audit.db").execute(
        "SELECT decision, rule FROM audit WHERE host = ?", (name,)))
    # refused once the session was seen (level0.no_user before it), never allowed
    assert ("block", "destination.forbidden") in seen and all(d == "block" for d, _ in seen)


def test_kerberos_single_sign_on_through_a_real_proxy(ws, kdc) -> None:  # noqa: ANN001
    """curl --negotiate with a ticket from a real KDC: identified with no password; without a
    ticket the 407 still offers Basic; forged, replayed and expired tokens get a 407."""
    expiring = kdc.kinit("membro", lifetime="3s")
    stale = kdc.token(expiring)  # made while its ticket is valid, sent after it expired
    stale_after = kdc.ticket_end(expiring) + kerberos.SKEW + 1
    use_kerberos(ws, kdc)
    proxy = start_proxy(ws, env=kdc.env)
    url = f"http://{kerberos.PROXY_HOST}:{proxy.port}"  # the name the SPN is made for

    def get(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["curl", "-s", "-x", url, "-w", "\n%{http_code}", "-D", "-", *args,
                               "http://www.gov.br/"], capture_output=True, text=True,
                              timeout=60, env=env or kdc.env)

    try:
        ticket = kdc.kinit("servidor")
        ok = get("--proxy-negotiate", "-U", ":", env=ticket)
        assert status(ok) == "200" and "upstream GET http://www.gov.br/" in ok.stdout
        no_ticket = {**kdc.env, "KRB5CCNAME": f"FILE:{ws.root}/no-ticket"}
        challenged = get("--proxy-negotiate", "-U", ":", env=no_ticket)
        assert status(challenged) == "407"
        offers = [ln.split(":", 1)[1].strip() for ln in challenged.stdout.splitlines()
                  if ln.lower().startswith("proxy-authenticate:")]
        assert offers == ["Negotiate", 'Basic realm="guarita", charset="UTF-8"']
        assert status(get("--proxy-basic", "-U", "servidor:servidor", env=no_ticket)) == "200"
        forged = get("--proxy-header", "Proxy-Authorization: Negotiate YIIBAAYGKwYBBQUCoIG=")
        assert status(forged) == "407" and "identity.bad_ticket" in forged.stdout
        token = kdc.token(kdc.kinit("servidor"))
        assert status(get("--proxy-header", f"Proxy-Authorization: Negotiate {token}")) == "200"
        replayed = get("--proxy-header", f"Proxy-Authorization: Negotiate {token}")
        assert status(replayed) == "407"
        wait_until(lambda: time.time() > stale_after, timeout=30, what="the ticket to expire")
        expired = get("--proxy-header", f"Proxy-Authorization: Negotiate {stale}")
        assert status(expired) == "407" and "identity.bad_ticket" in expired.stdout
        wait_until(lambda: len(audit_rows(proxy)) >= 7, what="the audit records")
        sources = [(r[0], r[1]) for r in sqlite3.connect(proxy.ws.var / "audit.db").execute(
            "SELECT \"user\", source FROM audit ORDER BY id")]
        assert sources[0] == ("servidor", "kerberos") and ("servidor", "basic") in sources
    finally:
        out = proxy.stop()
        proxy.net.stop()
    assert "Kerberos token from 127.0.0.1 refused: Request is a replay" in out


def test_sighup_reloads_the_policy_even_when_its_time_did_not_change(proxy: Proxy) -> None:
    login(proxy, "servidor")
    config = proxy.ws.config
    stamp = config.stat()
    text = config.read_text().replace(
        "machines:\n", "machines:\n  - {network: 127.0.0.1/32, level: 0, note: sala isolada}\n", 1)
    config.write_text(text)
    os.utime(config, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # as a restore from backup does
    assert status(curl(proxy, "http://www.gov.br/")) == "200"  # not noticed by the watcher
    proxy.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: status(curl(proxy, "http://www.gov.br/")) == "403", what="the reload")
    assert proxy.proc.poll() is None  # reloaded, still running
    out = proxy.stop()
    # what the operator reads (INFO lines reach mitmproxy's log): the reload and its result
    assert "SIGHUP: reloading policy, lists and state" in out
    assert "guarita: policy reloaded" in out


def _tunnel_with_hello(proxy: Proxy, hello: bytes) -> bytes:
    """CONNECT www.gov.br:443, then one crafted ClientHello; what the proxy sends back."""
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as s:
        s.sendall(b"CONNECT www.gov.br:443 HTTP/1.1\r\nHost: www.gov.br:443\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(4096)
        assert head.startswith(b"HTTP/1.1 200"), head
        s.sendall(hello)
        got = b""
        try:
            while chunk := s.recv(4096):
                got += chunk
                if len(got) > 5:
                    break
        except (TimeoutError, ConnectionResetError):
            pass
        return got


def test_ech_hiding_its_site_is_refused_and_grease_ech_passes(proxy: Proxy) -> None:
    login(proxy, "servidor")
    assert _tunnel_with_hello(proxy, hello.client_hello("cloudflare-ech.com", ech=True)) == b""
    assert not any(s.startswith("CONNECT") for s in proxy.net.seen)  # nothing went upstream
    answer = _tunnel_with_hello(proxy, hello.client_hello("www.gov.br", ech=True))
    assert answer[:1] in (b"\x16", b"\x15")  # the site's own TLS answered (hello or alert)
    assert any(s.startswith("CONNECT www.gov.br") for s in proxy.net.seen)
    proxy.stop()
    with sqlite3.connect(proxy.ws.var / "audit.db") as conn:
        rows = conn.execute("SELECT decision, rule FROM audit WHERE method = 'CONNECT' "
                            "ORDER BY id").fetchall()
    assert rows[0] == ("block", "tls.ech") and rows[1][0] == "allow"
