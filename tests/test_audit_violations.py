"""audit.violations: attempts, not records, and the same count at every door."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from addon.audit import query, violations
from addon.audit.violations import Attempt, Refusal, attempts, tally
from addon.audit.writer import AuditWriter
from addon.policy.model import Decision
from addon.policy.notify_settings import DEFAULT_RULES, ViolationRule
from addon.settings.load import load_policy
from addon.state import justifications
from tests.conftest import Workspace
from tests.support.store import made
from tests.test_audit import rec

WINDOW = 600.0
PROIBIDO = DEFAULT_RULES[0]  # conteudo_proibido: category.blocked, 3 attempts


def refusal(ts: float, user: str = "servidor", host: str = "www.youtube.com",
            rule: str = "category.blocked", cats: tuple[str, ...] = ("video",)) -> Refusal:
    return Refusal(ts, user, host, rule, cats, f"r{ts:g}")


def test_ten_reloads_of_one_page_are_one_attempt_with_its_ten_records() -> None:
    found = attempts([refusal(1000 + i * 3) for i in range(10)], WINDOW)
    assert len(found) == 1
    a = found[0]
    assert (a.records, a.first, a.last, a.host) == (10, 1000, 1027, "www.youtube.com")
    assert a.refs[:2] == ("r1000", "r1003")


def test_a_new_window_another_site_or_another_person_is_another_attempt() -> None:
    found = attempts([refusal(0), refusal(599), refusal(600), refusal(5, host="www.twitch.tv"),
                      refusal(7, user="estagiario")], WINDOW)
    assert [(a.user, a.host, a.records) for a in found] == [
        ("servidor", "www.youtube.com", 2), ("servidor", "www.twitch.tv", 1),
        ("estagiario", "www.youtube.com", 1), ("servidor", "www.youtube.com", 1)]


@given(st.lists(st.tuples(st.integers(0, 5000), st.sampled_from(["a", "b"]),
                          st.sampled_from(["x.com", "y.com"])), max_size=60),
       st.integers(1, 1200))
def test_attempts_cover_every_record_once_and_never_span_more_than_a_window(
        rows: list[tuple[int, str, str]], window: int) -> None:
    found = attempts([refusal(float(ts), user, host) for ts, user, host in rows], window)
    assert sum(a.records for a in found) == len(rows)
    for a in found:
        assert a.last - a.first < window
    for user in ("a", "b"):  # a greedy cover: the fewest windows that hold every record
        for host in ("x.com", "y.com"):
            times = sorted(float(ts) for ts, u, h in rows if (u, h) == (user, host))
            expected, start = 0, None
            for t in times:
                if start is None or t >= start + window:
                    expected, start = expected + 1, t
            assert sum(1 for a in found if (a.user, a.host) == (user, host)) == expected


def test_a_rule_counts_its_attempts_and_is_reached_at_its_number() -> None:
    found = [Attempt("servidor", f"s{i}.com", "category.blocked", ("video",), i, i, 2, ())
             for i in range(3)]
    found.append(Attempt("servidor", "bad.com", "malicious", ("malware",), 9, 9, 1, ()))
    games = ViolationRule("jogos", frozenset({"category.blocked"}), frozenset({"games"}))
    out = tally(found, (*DEFAULT_RULES, games))
    assert [(v.rule.name, v.count, v.reached, v.records) for v in out] == [
        ("conteudo_proibido", 3, True, 6), ("site_malicioso", 1, True, 1)]
    assert not tally(found[:2], DEFAULT_RULES)[0].reached  # 2 of 3


def write_reloads(path: Path | str, now: float, reloads: int = 10) -> None:
    w = AuditWriter(path, flush_interval=0.01)
    for i in range(reloads):
        w.submit(rec(i, user="servidor", host="www.youtube.com", decision="block",
                     rule="category.blocked", cats=("video",), ts=now - 3600 + i))
    w.submit(rec(99, user="servidor", host="www.youtube.com", decision="allow",
                 rule="level4", cats=("video",), ts=now - 3000))  # not a refusal
    assert w.close() == 0


def test_read_takes_only_the_refusals_the_rules_can_count(any_ws: Workspace) -> None:
    policy = load_policy(any_ws.config, any_ws.root)
    now = time.time()
    write_reloads(policy.paths.audit_target, now)
    conn = query.connect_readonly(policy.paths)
    try:
        rows = violations.read(conn, query.Filters(since=now - 86400), policy.notify.rules)
        found = violations.count(conn, query.Filters(since=now - 86400), policy.notify.rules,
                                 policy.notify.window)
    finally:
        conn.close()
    assert len(rows) == 10 and {r.categories for r in rows} == {("video",)}
    assert [(v.user, v.count, v.records) for v in found] == [("servidor", 1, 10)]


def test_ten_reloads_are_one_attempt_in_the_console_the_cli_and_the_digest(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's acceptance: the three doors count one way, and the digest (3 attempts
    make a `conteudo_proibido`) no longer reports ten reloads of one page."""
    from addon.console.app import create_app
    from addon.notify import worker
    from tests.test_console import signed_in

    policy = load_policy(ws.config, ws.root)
    now = time.time()
    write_reloads(policy.paths.audit_file, now)
    cp = ws.run("audit", "violations", "--format", "json", check=True)
    assert [(r["user"], r["attempts"], r["records"]) for r in json.loads(cp.stdout)] == [
        ("servidor", 1, 10)]
    monkeypatch.chdir(ws.root)
    app = create_app(ws.config)
    app.testing = True
    page = signed_in(app, "auditor").get("/equipe").get_data(as_text=True)
    assert "<td>servidor</td><td>1</td><td>10</td>" in page
    assert "10 registros" in page and "conteudo proibido (1/3)" in page
    audit, state = query.connect_readonly(policy.paths), made(policy.paths)
    try:
        assert worker.violations(audit, state, policy.notify, now - 86400, now) == []
    finally:
        audit.close()
    for visit in (1, 2):  # two more visits, each past the window: three attempts
        write_reloads(policy.paths.audit_file, now + visit * (policy.notify.window + 1), 4)
    audit = query.connect_readonly(policy.paths)
    try:
        items = worker.violations(audit, state, policy.notify, now - 86400, now + 3600)
    finally:
        audit.close()
    assert [(i["user"], i["rule"], i["attempts"], i["records"]) for i in items] == [
        ("servidor", "conteudo_proibido", 3, 18)]
    # Art. 10 §1: the last visit was answered by a justification of that site: two attempts
    # (under the rule's three); a chief revoking it as a violation makes it one of its own
    decision = Decision("block", 2, ("video",), "b", "category.blocked", "youtube.com",
                        justifiable=True)
    late = now - 3600 + 2 * (policy.notify.window + 1) + 60  # after the third visit
    opened = justifications.justify(state, policy, "servidor", "www.youtube.com", decision,
                                    "curso do SEI em vídeo para a equipe", now=late)
    audit = query.connect_readonly(policy.paths)
    try:
        assert worker.violations(audit, state, policy.notify, now - 86400, now + 3600) == []
        justifications.revoke(state, opened.id, "coordenador", "não era de serviço",
                              violation=True, now=late + 1)
        items = worker.violations(audit, state, policy.notify, now - 86400, now + 3600)
    finally:
        audit.close()
        state.close()
    assert [(i["user"], i["rule"], i["attempts"]) for i in items] == [
        ("servidor", "acesso_justificado_indevido", 1)]
    cp = ws.run("audit", "violations", "--attempts", "--since", "2000-01-01", "--format",
                "json", check=True)
    assert ("justified.violation", f"justificativa {opened.id}") in {
        (r["rule"], r["refs"]) for r in json.loads(cp.stdout)}


@pytest.mark.parametrize("reloads,expected", [(1, 1), (10, 1)])
def test_the_cli_shows_the_attempts_and_the_records_behind_each(
        ws: Workspace, reloads: int, expected: int) -> None:
    policy = load_policy(ws.config, ws.root)
    write_reloads(policy.paths.audit_file, time.time(), reloads)
    cp = ws.run("audit", "violations", "--attempts", "--format", "json", check=True)
    rows = json.loads(cp.stdout)
    assert len(rows) == expected and rows[0]["records"] == reloads
    assert rows[0]["host"] == "www.youtube.com" and rows[0]["refs"].startswith("ref0")


def test_a_justification_answers_the_attempt_before_it_and_a_counted_one_is_its_own() -> None:
    window = 600.0
    found = attempts([refusal(100.0), refusal(110.0), refusal(5000.0)], window)
    j = violations.Justified(4, "servidor", "youtube.com", 300.0, ("video",), False)
    assert [a.first for a in violations.answered(found, [j], window)] == [5000.0]
    other = violations.Justified(5, "membro", "youtube.com", 300.0, ("video",), False)
    assert len(violations.answered(found, [other], window)) == 2  # another person's
    counted = j._replace(violation=True)
    out = violations.answered(found, [counted], window)
    assert [(a.rule, a.first, a.refs) for a in out] == [
        ("justified.violation", 300.0, ("justificativa 4",)), ("category.blocked", 5000.0,
                                                              (out[1].refs[0],))]
