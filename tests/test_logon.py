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
        assert row["source"] == "endpoint:legacy" and row["state"] == "active"
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


# --- sources with scopes (issue 17), on the endpoint itself over loopback -------------

COLLECTOR = "collector-token-0123456789"
WORKSTATION = "workstation-token-0123456789"


@pytest.fixture
def endpoint(ws: Workspace, tmp_path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN001, ANN201
    from addon.identity.logon import LogonEndpoint, current_sources
    from addon.identity.static import StaticDirectory
    from addon.policy.model import LogonSource
    from addon.settings.load import load_policy

    policy = load_policy(ws.config, ws.root)
    token_file = tmp_path / "collector.token"
    token_file.write_text(COLLECTOR + "\n")
    monkeypatch.setenv("WS_TOKEN", WORKSTATION)
    configured = (LogonSource("dc", "collector", token_file=str(token_file)),
                  LogonSource("scripts", "workstation", token_env="WS_TOKEN"))
    ep = LogonEndpoint("127.0.0.1", 0, lambda: current_sources(configured, None, None),
                       policy.paths.state_dir, lambda: StaticDirectory(policy),
                       slow_base=0.05, timeout=1.0).start()
    ep.token_file = token_file  # type: ignore[attr-defined]
    yield ep
    ep.stop()


def sessions_of(ws: Workspace) -> dict[str, str]:
    rows = json.loads(ws.run("session", "list", "--format", "json", check=True).stdout)
    return {r["ip"]: r["user"] for r in rows}


def test_a_workstation_token_cannot_announce_another_address(ws: Workspace, endpoint) -> None:  # noqa: ANN001
    status, text = post(endpoint.port, "/login", {"user": "membro", "ip": "10.9.9.9"},
                        token=WORKSTATION)
    assert status == 403 and "own address" in text
    assert sessions_of(ws) == {} and endpoint.refused == 1
    history = ws.run("audit", "admin", "--action", "session.refused", "--format", "json",
                     check=True).stdout
    assert "10.9.9.9" in history and "workstation scope" in history
    assert post(endpoint.port, "/login", {"user": "fantasma"}, token=WORKSTATION)[0] == 404
    assert post(endpoint.port, "/login", {"user": "servidor"}, token=WORKSTATION) == (
        200, "servidor logged in at 127.0.0.1")  # its own address: fine


def test_a_collector_token_may_announce_any_address(ws: Workspace, endpoint) -> None:  # noqa: ANN001
    assert post(endpoint.port, "/login", {"user": "membro", "ip": "10.1.1.1"},
                token=COLLECTOR) == (200, "membro logged in at 10.1.1.1")
    assert sessions_of(ws) == {"10.1.1.1": "membro"}


def test_art18_IX_a_conflicting_announcement_is_recorded_and_the_collector_stands(
        ws: Workspace, endpoint) -> None:  # noqa: ANN001
    assert post(endpoint.port, "/login", {"user": "servidor", "ip": "127.0.0.1"},
                token=COLLECTOR)[0] == 200
    status, text = post(endpoint.port, "/login", {"user": "membro"}, token=WORKSTATION)
    assert status == 409 and "servidor's session" in text
    assert sessions_of(ws) == {"127.0.0.1": "servidor"}  # the claim of level 3 did not pass
    (entry,) = json.loads(ws.run("audit", "admin", "--action", "session.conflict", "--format",
                                 "json", check=True).stdout)
    assert json.loads(entry["after"])["user"] == "membro"
    assert json.loads(entry["before"])["user"] == "servidor"


def test_a_token_change_in_its_file_is_picked_up_without_restart(endpoint) -> None:  # noqa: ANN001
    endpoint.token_file.write_text("rotated-collector-token-000\n")
    assert post(endpoint.port, "/login", {"user": "membro"}, token=COLLECTOR)[0] == 401
    assert post(endpoint.port, "/login", {"user": "membro"},
                token="rotated-collector-token-000")[0] == 200


def test_wrong_tokens_are_counted_and_answered_ever_slower(endpoint) -> None:  # noqa: ANN001
    times = []
    for _ in range(3):
        t = time.monotonic()
        assert post(endpoint.port, "/login", {"user": "membro"}, token="guess-" * 4)[0] == 401
        times.append(time.monotonic() - t)
    assert endpoint.bad_tokens == 3
    assert times[2] > times[0] and times[2] >= 0.2  # 0.05, 0.1, 0.2 s


def test_a_slow_client_is_cut_off(ws: Workspace, endpoint) -> None:  # noqa: ANN001
    import socket

    slow = socket.create_connection(("127.0.0.1", endpoint.port))
    slow.sendall(b"POST /login HTTP/1.1\r\n")  # and then nothing
    slow.settimeout(5)
    t = time.monotonic()
    assert slow.recv(100) == b""  # closed by the endpoint's timeout (1 s here)
    assert time.monotonic() - t < 4
    slow.close()
    assert post(endpoint.port, "/login", {"user": "membro"}, token=COLLECTOR)[0] == 200


def test_concurrent_calls_are_bounded(ws: Workspace) -> None:
    """Past `max_calls` connections at once, a new one is closed at once, never queued."""
    import socket

    from addon.identity.logon import LogonEndpoint
    from addon.identity.static import StaticDirectory
    from addon.settings.load import load_policy

    policy = load_policy(ws.config, ws.root)
    ep = LogonEndpoint("127.0.0.1", 0, lambda: [], policy.paths.state_dir,
                       lambda: StaticDirectory(policy), max_calls=1, timeout=3.0).start()
    try:
        holder = socket.create_connection(("127.0.0.1", ep.port))
        holder.sendall(b"POST /login HTTP/1.1\r\n")  # holds the only slot
        time.sleep(0.2)
        extra = socket.create_connection(("127.0.0.1", ep.port))
        extra.settimeout(2)
        extra.sendall(b"GET /health HTTP/1.1\r\n\r\n")
        assert extra.recv(100) == b""  # closed unanswered while the slot is taken
        holder.close()
        extra.close()
        wait_health(ep.port)  # the slot frees once the held call is answered
    finally:
        ep.stop()


def test_an_unusable_token_is_left_out_and_said_in_the_log_only(tmp_path, caplog) -> None:  # noqa: ANN001
    from addon.identity.logon import current_sources
    from addon.policy.model import LogonSource

    gone = LogonSource("dc", "collector", token_file=str(tmp_path / "missing.token"))
    assert current_sources((gone,), "short", None) == []  # both unusable: nobody accepted
    assert "missing.token" in caplog.text and "at least 16" in caplog.text
