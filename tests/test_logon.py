"""The logon-script endpoint against a running proxy: token, announce, effect on the wire, logoff."""

from __future__ import annotations

import http.client
import json
import subprocess
import time
import urllib.parse

import pytest

from tests.conftest import Workspace, free_port, guarita_cmd, start_proxy

TOKEN = "s3cret-logon-token-for-tests"


def post(port: int, path: str, form: dict[str, str], token: str | None = TOKEN) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    conn.request("POST", path, urllib.parse.urlencode(form), headers)
    r = conn.getresponse()
    return r.status, r.read().decode().strip()


def wait_health(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("logon endpoint did not answer")


def status_through(proxy, url: str) -> str:  # noqa: ANN001
    cp = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-x", proxy.url, url],
                        capture_output=True, text=True, timeout=30)
    return cp.stdout


def test_logon_script_announces_and_the_proxy_follows(ws: Workspace,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARITA_SESSION_TOKEN", TOKEN)
    sport = free_port()
    proxy = start_proxy(ws, "--session-port", str(sport))
    try:
        wait_health(sport)
        assert status_through(proxy, "http://www.gov.br/") == "407"  # nobody logged in yet
        assert post(sport, "/login", {"user": "servidor"}, token=None)[0] == 401
        assert post(sport, "/login", {"user": "servidor"}, token=TOKEN[:-1] + "x")[0] == 401
        assert post(sport, "/login", {"user": "*)(uid=*"})[0] == 404
        assert post(sport, "/login", {"user": "servidor", "ip": "not-an-ip"})[0] == 400
        assert post(sport, "/login", {})[0] == 400
        status, text = post(sport, "/login", {"user": "Servidor"})
        assert (status, text) == (200, "servidor logged in at 127.0.0.1")
        time.sleep(2.5)  # the proxy re-reads state every second
        assert status_through(proxy, "http://www.gov.br/") == "200"
        assert status_through(proxy, "http://www.youtube.com/") == "403"  # level 2 has no video
        [row] = json.loads(ws.run("session", "list", "--format", "json", check=True).stdout)
        assert row["source"] == "endpoint" and row["state"] == "active"
        assert row["until"] != "-"  # announced sessions expire
        history = ws.run("audit", "admin", "--format", "json", check=True).stdout
        assert "logon-endpoint" in history
        assert post(sport, "/logout", {}) == (200, "logged out 127.0.0.1")
        time.sleep(2.5)
        assert status_through(proxy, "http://www.gov.br/") == "407"
    finally:
        proxy.stop()
        proxy.net.stop()


def test_endpoint_refuses_to_start_without_a_token(ws: Workspace,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GUARITA_SESSION_TOKEN", raising=False)
    cp = subprocess.run([*guarita_cmd(), "run", "--listen-port", str(free_port()), "--metrics-port",
                         "0", "--session-port", str(free_port()), "--config", str(ws.config)],
                        cwd=ws.root, capture_output=True, text=True, timeout=60)
    assert cp.returncode == 2
    assert "GUARITA_SESSION_TOKEN" in cp.stderr and "Traceback" not in cp.stderr + cp.stdout
