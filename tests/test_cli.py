"""The command-line contract of SPEC.md, run as a person would."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.store import made


def test_check_contract(ws) -> None:  # noqa: ANN001
    rc, d = ws.check("https://www.gov.br/", "--level", "1", "--at", "2026-11-24T14:00:00-03:00")
    assert rc == 0 and d["decision"] == "allow" and d["level"] == 1
    assert d["categories"] == ["government"] and d["rule"] == "level1.allowlist" and d["reason"]
    rc, d = ws.check("https://facebook.com/", "--user", "servidor", "--at", "2026-11-24T14:00")
    assert rc == 1 and d["rule"] == "level2.business_hours"
    rc, d = ws.check("https://facebook.com/", "--user", "servidor", "--at", "2026-11-20T14:00")
    assert rc == 0  # national holiday
    rc, d = ws.check("https://facebook.com/", "--groups", "membros", "--at", "2026-11-24T14:00")
    assert rc == 0 and d["level"] == 3
    for args in (["http://exa mple.com/", "--level", "2"], ["https://x.com/", "--level", "9"],
                 ["https://x.com/", "--user", "ninguem"], ["https://x.com/", "--at", "ontem"]):
        cp = ws.run("check", *args)
        assert cp.returncode == 2 and "Traceback" not in cp.stderr
        assert len(cp.stderr.strip().splitlines()) == 1


def test_check_says_when_a_justification_would_open_the_site(ws) -> None:  # noqa: ANN001
    rc, d = ws.check("https://www.youtube.com/", "--user", "servidor", "--at",
                     "2026-11-24T14:00")
    assert (rc, d["decision"], d["rule"], d["justifiable"]) == (1, "block", "category.blocked",
                                                                True)
    assert d["justification_window"] == {
        "site": "youtube.com", "minutes": 60, "from": "2026-11-24T14:00:00-03:00",
        "until": "2026-11-24T15:00:00-03:00", "per_day": 5}
    rc, d = ws.check("https://www.pornhub.com/", "--user", "servidor", "--at",
                     "2026-11-24T14:00")
    assert (rc, d["justifiable"]) == (1, False) and "justification_window" not in d
    rc, d = ws.check("https://www.gov.br/", "--user", "servidor")
    assert (rc, d["justifiable"]) == (0, False)
    text = ws.run("check", "https://www.youtube.com/", "--level", "2", "--at",
                  "2026-11-24T14:00").stdout
    assert "justifiable: a justification opens youtube.com for 60 minutes" in text


def test_sessions_and_blocks_with_history(any_ws) -> None:  # noqa: ANN001
    ws = any_ws
    ws.run("session", "login", "estagiario", "10.0.0.7", "--operator", "ti.joao", check=True)
    rc, d = ws.check("http://example.org/", "--ip", "10.0.0.7")
    assert rc == 1 and d["user"] == "estagiario" and d["level"] == 1
    ws.run("block", "user", "estagiario", "--reason", "Art. 19", "--operator", "ti.joao", check=True)
    rc, d = ws.check("https://www.gov.br/", "--ip", "10.0.0.7")
    assert d["rule"] == "blocked.user"
    assert ws.run("unblock", "user", "estagiario", "--authorized-by", "SubPGJ").returncode == 0
    rc, d = ws.check("https://www.gov.br/", "--ip", "10.0.0.7")
    assert rc == 0
    ws.run("session", "logout", "10.0.0.7", check=True)
    rc, d = ws.check("https://www.gov.br/", "--ip", "10.0.0.7")
    assert d["rule"] == "level0.no_user"
    hist = json.loads(ws.run("audit", "admin", "--format", "json", check=True).stdout)
    actions = [h["action"] for h in hist]
    for a in ("session.login", "block.user", "unblock.user", "session.logout"):
        assert a in actions
    assert any(h["operator"] == "ti.joao" for h in hist)
    assert "SubPGJ" in json.dumps(hist)


def test_release_limits_and_event_flow(any_ws) -> None:  # noqa: ANN001
    ws = any_ws
    cp = ws.run("release", "grant", "--to", "user:servidor", "--domain", "youtube.com",
                "--days", "8", "--reason", "curso")
    assert cp.returncode == 2 and "committee" in cp.stderr
    cp = ws.run("release", "grant", "--to", "user:servidor", "--domain", "youtube.com",
                "--days", "7", "--reason", "curso", check=True)
    rid = cp.stdout.split("#")[1].split()[0]
    rc, d = ws.check("https://www.youtube.com/", "--user", "servidor")
    assert rc == 0 and d["rule"] == "release" and d["release"] == int(rid)
    assert ws.run("release", "extend", rid, "--days", "7").returncode == 0
    cp = ws.run("release", "extend", rid, "--days", "1")
    assert cp.returncode == 2 and "once" in cp.stderr
    cp = ws.run("release", "grant", "--to", "user:servidor", "--domain", "wicar.org", "--days",
                "1", "--reason", "x")
    assert cp.returncode == 2 and "analysis" in cp.stderr
    for bad in (["--to", "user:ninguem"], ["--to", "group:inexistente"], ["--to", "machine:x"]):
        cp = ws.run("release", "grant", *bad, "--category", "video", "--days", "1", "--reason", "x")
        assert cp.returncode == 2
    cp = ws.run("release", "event", "--to", "user:servidor", "--platform", "zoom", "--date",
                "2020-01-01", "--start", "10:00", "--end", "11:00", "--reason", "x")
    assert cp.returncode == 2 and "not in the future" in cp.stderr
    assert ws.run("release", "approve", "999").returncode == 2
    cp = ws.run("release", "event", "--to", "user:servidor", "--platform", "zoom", "--date",
                "2027-03-10", "--start", "10:00", "--end", "11:00", "--reason", "seminário",
                check=True)
    eid = cp.stdout.split("#")[1].split()[0]
    rc, d = ws.check("https://zoom.us/", "--user", "servidor", "--at", "2027-03-10T10:15")
    assert rc == 1  # a request is not a release (seed 000 item 5)
    ws.run("release", "approve", eid, check=True)
    rc, d = ws.check("https://zoom.us/", "--user", "servidor", "--at", "2027-03-10T10:15")
    assert rc == 0 and d["release"] == int(eid)
    rc, d = ws.check("https://zoom.us/", "--user", "servidor", "--at", "2027-03-10T11:31")
    assert rc == 1  # 30-minute margin has passed


def test_seed000_items1_2_grant_of_a_platform_domain_names_the_event_rule(ws) -> None:  # noqa: ANN001
    cp = ws.run("release", "grant", "--to", "user:servidor", "--domain", "zoom.us", "--days", "7",
                "--reason", "reunião")
    assert cp.returncode == 2 and "guarita release event" in cp.stderr
    assert len(cp.stderr.strip().splitlines()) == 1 and "Traceback" not in cp.stderr


def test_art9_par11_approve_of_a_malicious_request_needs_the_analysis_ref(any_ws) -> None:  # noqa: ANN001
    ws = any_ws
    import json

    from addon.settings.load import load_policy
    from addon.state import requests

    policy = load_policy(ws.config, ws.root)
    rid = requests.request_access(made(policy.paths), policy, "servidor",
                                  domain="wicar.org", category=None, days=1, reason="teste")
    cp = ws.run("release", "approve", str(rid))
    assert cp.returncode == 2 and "--analysis-ref" in cp.stderr
    ws.run("release", "approve", str(rid), "--analysis-ref", "LAUDO-1", check=True)
    active = json.loads(ws.run("release", "list", "--format", "json", check=True).stdout)
    assert [r["id"] for r in active] == [rid]


def test_art19_block_of_an_unknown_login_is_refused(ws) -> None:  # noqa: ANN001
    cp = ws.run("block", "user", "servidr", "--reason", "incidente")
    assert cp.returncode == 2 and "unknown user 'servidr'" in cp.stderr
    assert "servidr" not in ws.run("block", "list").stdout  # nothing was recorded
    ws.run("block", "user", "servidor", "--reason", "incidente", check=True)
    assert "servidor" in ws.run("block", "list").stdout


def test_art11_admin_history_shows_times_in_the_institutions_zone(any_ws) -> None:  # noqa: ANN001
    ws = any_ws
    import json
    import re

    ws.run("release", "grant", "--to", "user:servidor", "--domain", "youtube.com", "--days", "2",
           "--reason", "curso", check=True)
    (entry,) = json.loads(ws.run("audit", "admin", "--format", "json", "--action",
                                 "release.grant", check=True).stdout)
    iso = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-03:00$")
    assert iso.match(entry["at"])
    after = json.loads(entry["after"])
    assert iso.match(after["start"]) and iso.match(after["end"]) and iso.match(after["created"])
    assert after["obj"] == "youtube.com"  # everything else as recorded


def test_usage_errors_are_one_line_naming_the_problem_and_the_help(ws) -> None:  # noqa: ANN001
    for args, words in ((["block", "user", "servidor"], "Missing option '--reason'"),
                        (["check"], "Missing argument 'URL'"),
                        (["nope"], "No such command 'nope'"),
                        (["check", "http://x", "--level", "abc"], "'abc' is not a valid integer")):
        cp = ws.run(*args)
        assert cp.returncode == 2 and words in cp.stderr, (args, cp.stderr)
        assert len(cp.stderr.strip().splitlines()) == 1 and "--help" in cp.stderr


def test_the_policy_is_found_from_any_folder(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from addon.cli import common

    monkeypatch.setattr(common, "SYSTEM_POLICY", tmp_path / "etc" / "policy.yaml")
    assert common.find_policy(None) == Path("config/policy.yaml")  # a checkout
    common.SYSTEM_POLICY.parent.mkdir()
    common.SYSTEM_POLICY.write_text("x")
    assert common.find_policy(None) == common.SYSTEM_POLICY  # an installed proxy
    assert common.find_policy(Path("mine.yaml")) == Path("mine.yaml")  # --config or the env


def test_a_missing_policy_says_how_to_name_one(tmp_path) -> None:  # noqa: ANN001
    import subprocess

    from tests.conftest import guarita_cmd

    env = {k: v for k, v in __import__("os").environ.items() if k != "GUARITA_CONFIG"}
    cp = subprocess.run([*guarita_cmd(), "check", "http://www.gov.br/", "--level", "2"],
                        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=60)
    if Path("/etc/guarita/policy.yaml").exists():
        return  # this machine has an installed policy: it is the one found
    assert cp.returncode == 2 and "GUARITA_CONFIG" in cp.stderr and "Traceback" not in cp.stderr


def test_the_command_list_keeps_whole_sentences(ws) -> None:  # noqa: ANN001
    for args in ((), ("release",), ("audit",)):
        out = ws.run(*args, "--help", check=True).stdout
        assert "(Art.\n" not in out and not out.rstrip().endswith("(Art.")
        assert "Art.  " not in out
    assert "(Art. 9 §10–12)" in " ".join(ws.run("--help", check=True).stdout.split())


def test_check_explains_a_forbidden_destination_as_the_proxy_refuses_it(ws) -> None:  # noqa: ANN001
    """Issue 25: check said `allow` for localhost and (level 3) for 127.0.0.1:8080."""
    for url, user in (("http://localhost/", "servidor"), ("http://127.0.0.1:8080/", "membro"),
                      ("http://[::1]/", "membro"), ("http://169.254.169.254/latest/", "membro")):
        code, out = ws.check(url, "--user", user)
        assert (code, out["decision"], out["rule"]) == (1, "block", "destination.forbidden"), url
        assert out["level"] == (2 if user == "servidor" else 3)  # the person's level, as ever
    code, out = ws.check("http://www.gov.br/", "--user", "membro")
    assert (code, out["decision"]) == (0, "allow")


@pytest.mark.parametrize("which", ["--listen-port", "--metrics-port", "--session-port", "console"])
def test_a_taken_port_is_one_line_naming_it_and_nothing_claims_to_have_started(
        ws, which: str) -> None:  # noqa: ANN001
    """Issue 25: the proxy named only the metrics port; a second console said its URL first."""
    import socket

    from tests.conftest import free_port, guarita_cmd

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        if which == "console":
            cp = ws.run("console", "--port", port, timeout=60)
        else:
            ports = {"--listen-port": str(free_port()), "--metrics-port": "0",
                     "--session-port": "0", which: port}
            env = {"GUARITA_SESSION_TOKEN": "x" * 32}
            cp = subprocess.run([*guarita_cmd(), "run", *(a for kv in ports.items() for a in kv),
                                 "--config", str(ws.config)], cwd=ws.root, capture_output=True,
                                text=True, timeout=60, env={**os.environ, **env})
    assert cp.returncode == 2, cp.stdout + cp.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in cp.stderr and "Traceback" not in cp.stderr
    assert " on http" not in cp.stdout and "proxy on" not in cp.stdout  # nothing said started


def test_every_connection_a_command_opens_is_closed(ws, monkeypatch) -> None:  # noqa: ANN001
    """In-process, so the connections can be counted: each verb closes what it opened."""
    from click.testing import CliRunner

    from addon.audit import query
    from addon.cli.main import cli
    from addon.state import db

    opened: list[object] = []
    closed: list[object] = []

    def tracked(opener):  # noqa: ANN001, ANN202
        def open_(*args, **kw):  # noqa: ANN002, ANN003, ANN202
            conn = opener(*args, **kw)
            opened.append(conn)
            real_close = conn.close

            class Tracked:
                def __getattr__(self, name: str) -> object:
                    return getattr(conn, name)

                def __enter__(self):  # noqa: ANN204
                    return conn.__enter__()

                def __exit__(self, *exc):  # noqa: ANN002, ANN204
                    return conn.__exit__(*exc)

                def close(self) -> None:
                    closed.append(conn)
                    real_close()

            return Tracked()
        return open_

    monkeypatch.setattr(db, "connect", tracked(db.connect))
    monkeypatch.setattr(query, "connect_readonly", tracked(query.connect_readonly))
    monkeypatch.chdir(ws.root)
    from addon.audit.schema import open_audit
    from addon.settings.load import load_policy
    from addon.store import ready

    paths = load_policy(ws.config, ws.root, env={}).paths
    ready.ensure(paths)
    open_audit(paths.audit_file).close()
    runner = CliRunner()
    for args in (["session", "login", "servidor", "10.0.0.5"], ["session", "list"],
                 ["block", "user", "estagiario", "--reason", "Art. 19"], ["block", "list"],
                 ["release", "grant", "--to", "user:servidor", "--domain", "x.gov.br", "--days",
                  "1", "--reason", "curso"], ["release", "list"], ["audit", "query"],
                 ["audit", "admin"]):
        result = runner.invoke(cli, args, catch_exceptions=False)
        assert result.exit_code == 0, (args, result.output)
    assert opened and len(closed) == len(opened)
