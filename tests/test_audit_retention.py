"""audit.retention: records past audit.retention_days pruned once a day, holds kept, on both
engines; the policy's audit section."""

from __future__ import annotations

import json
import time
from pathlib import Path

from addon.audit import query, retention
from addon.audit.record import record
from addon.audit.writer import AuditWriter
from addon.policy.model import Decision, Identity
from addon.settings.load import load_policy
from addon.state import holds
from tests.conftest import Workspace
from tests.support.store import made

DAY = 86400.0


def write(target: object, rows: list[tuple[str, str, float]]) -> None:
    w = AuditWriter(target, flush_interval=0.01)  # type: ignore[arg-type]
    for i, (user, ip, ts) in enumerate(rows):
        d = Decision("allow", 2, ("government",), "r", "level.allowed")
        w.submit(record(ts, f"ref{i}", Identity(user, frozenset(), 2, source="basic"), d, "GET",
                        "http", "www.gov.br", 80, "/", 200, 10, 100, 1.0, ip))
    assert w.close() == 0


def users_left(policy) -> list[str]:  # noqa: ANN001
    conn = query.connect_readonly(policy.paths)
    try:
        return sorted(r["user"] or "-" for r in query.records(conn, query.Filters(), 100))
    finally:
        conn.close()


def test_the_retention_prunes_once_a_day_and_keeps_what_a_hold_holds(any_ws: Workspace) -> None:
    policy = load_policy(any_ws.config, any_ws.root)
    assert policy.audit_retention_days == 183 and policy.audit_keep_query is False
    now = time.time()
    old = now - 200 * DAY
    write(policy.paths.audit_target, [("servidor", "10.0.0.5", old), ("membro", "10.0.0.6", old),
                                      ("estagiario", "10.0.0.9", old),
                                      ("membro", "10.0.0.6", now - DAY)])
    state = made(policy.paths)
    holds.add(state, "PAD-7/2026", "user", "servidor", None, "processo", "ti")
    holds.add(state, "PAD-9/2026", "ip", "10.0.0.9", None, "perícia", "ti")
    r = retention.Retention()
    assert r.run(state, policy, now) == 1  # membro's old record; the held two stay
    assert users_left(policy) == ["estagiario", "membro", "servidor"]
    assert r.run(state, policy, now + 3600) is None  # once a day
    entry = state.execute("SELECT operator, after FROM admin_log WHERE action = 'audit.prune'"
                          ).fetchone()
    after = json.loads(entry["after"])
    assert entry["operator"] == "retention" and after["deleted"] == 1
    assert after["held_users"] == ["servidor"] and after["held_ips"] == ["10.0.0.9"]
    for h in holds.listing(state):
        holds.release(state, h["id"], "Corregedoria", "ti")
    assert r.run(state, policy, now + DAY) == 2
    assert users_left(policy) == ["membro"]
    state.close()


def test_the_cli_holds_and_prunes_around_them(ws: Workspace) -> None:
    policy = load_policy(ws.config, ws.root)
    old = time.time() - 400 * DAY
    write(policy.paths.audit_file, [("servidor", "10.0.0.5", old), ("membro", "10.0.0.6", old)])
    cp = ws.run("audit", "hold", "add", "--case", "PAD-7/2026", "--user", "servidor",
                "--reason", "processo disciplinar", check=True)
    assert "hold #1" in cp.stdout
    both = ws.run("audit", "hold", "add", "--case", "X", "--user", "a", "--ip", "10.0.0.1",
                  "--reason", "r")
    assert both.returncode == 2 and "exactly one of --user or --ip" in both.stderr
    listed = json.loads(ws.run("audit", "hold", "list", "--format", "json", check=True).stdout)
    assert [(h["case_ref"], h["kind"], h["subject"]) for h in listed] == [
        ("PAD-7/2026", "user", "servidor")]
    ws.run("audit", "prune", "--before", "2100-01-01", check=True)
    assert users_left(policy) == ["servidor"]
    ws.run("audit", "hold", "release", "1", "--authorized-by", "Corregedoria", check=True)
    assert json.loads(ws.run("audit", "hold", "list", "--format", "json").stdout) == []
    ws.run("audit", "prune", "--before", "2100-01-01", check=True)
    assert users_left(policy) == []


def test_the_policy_may_keep_records_until_pruned_by_hand(ws: Workspace) -> None:
    import yaml

    tree = yaml.safe_load(ws.config.read_text())
    tree["audit"] = {"retention_days": None, "keep_query": True}
    ws.config.write_text(yaml.safe_dump(tree, allow_unicode=True))
    policy = load_policy(ws.config, ws.root)
    assert policy.audit_retention_days is None and policy.audit_keep_query
    state = made(policy.paths)
    assert retention.Retention().run(state, policy) is None
    tree["audit"] = {"retention_days": 183, "witnes": "/mnt/fora/guarita.witness"}
    ws.config.write_text(yaml.safe_dump(tree, allow_unicode=True))
    cp = ws.run("check", "http://www.gov.br/", "--user", "servidor")
    assert cp.returncode == 2 and "audit.witnes" in cp.stderr  # a typo is refused
    tree["audit"] = {"retention_days": 183, "witness": "/mnt/fora/guarita.witness"}
    ws.config.write_text(yaml.safe_dump(tree, allow_unicode=True))
    assert load_policy(ws.config, ws.root).audit_witness == Path("/mnt/fora/guarita.witness")
