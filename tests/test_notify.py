"""Notifications against a real SMTP server (aiosmtpd as its own process): the release loop,
the Art. 19 digest, a server that goes away, the rate limit, and the outbox on the CLI."""

from __future__ import annotations

import datetime as dt
import email.header
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from addon.audit import witness
from addon.audit.record import record
from addon.audit.writer import AuditWriter
from addon.identity.registry import make_directory
from addon.notify import outbox
from addon.notify.worker import closed_period, tick
from addon.policy.model import Decision, Identity, Policy
from addon.settings.load import load_policy
from addon.state import releases, requests
from tests.conftest import Workspace
from tests.support.smtp import SmtpServer
from tests.support.store import made

pytest.importorskip("aiosmtpd")
TZ_NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=-3))).timestamp()
YESTERDAY = TZ_NOW - 20 * 3600  # Monday 23 Nov, 13:00 local


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpServer]:
    s = SmtpServer(tmp_path / "smtp").start()
    yield s
    s.stop()


def enable(ws: Workspace, smtp: SmtpServer, **extra: Any) -> Policy:
    tree = yaml.safe_load(ws.config.read_text())
    tree["notifications"] = {"smtp": {"host": "127.0.0.1", "port": smtp.port,
                                      "sender": "guarita <guarita@exemplo.gov.br>"},
                             "committee": ["comite@exemplo.gov.br"],
                             "offices": {"inspector_general": "corregedoria@exemplo.gov.br"},
                             **extra}
    users = tree["directory"]["users"]
    users["servidor"].update(email="servidor@exemplo.gov.br", chief="coordenador")
    users["coordenador"]["email"] = "coordenador@exemplo.gov.br"
    users["estagiario"].update(email="estagiario@exemplo.gov.br", chief="coordenador")
    ws.config.write_text(yaml.safe_dump(tree, allow_unicode=True))
    return load_policy(ws.config, ws.root)


def subject(m: Any) -> str:
    return str(email.header.make_header(email.header.decode_header(m["Subject"])))


def body(m: Any) -> str:
    return m.get_payload(decode=True).decode("utf-8")


def run(policy: Policy, now: float | None = None) -> Any:
    state = made(policy.paths)
    path = policy.paths.audit_file
    audit = sqlite3.connect(path) if path.exists() else None
    return tick(state, audit, policy, make_directory(policy), now)


def attempts(policy: Policy, user: str, host: str, n: int, at: float, rule: str = "category.blocked",
             categories: tuple[str, ...] = ("adult",)) -> None:
    """`n` attempts of `user` on `host`: one record each, 11 minutes apart (past the
    policy's 10-minute window, so each is an attempt of its own)."""
    w = AuditWriter(policy.paths.audit_target, flush_interval=0.01)  # SQLite or PostgreSQL
    ident = Identity(user, frozenset(), 2, source="basic")
    d = Decision("block", 2, categories, "Categoria bloqueada", rule)
    for i in range(n):
        w.submit(record(at + i * 660, f"r{user}{i}", ident, d, "GET", "http", host, 80, "/",
                        403, 0, 0, 1.0, "10.0.0.5"))
    assert w.close() == 0


def test_the_release_loop_tells_the_committee_and_then_the_user(ws: Workspace,
                                                                 smtp: SmtpServer) -> None:
    policy = enable(ws, smtp)
    conn = made(policy.paths)
    rid = requests.request_access(conn, policy, "servidor", domain="www.youtube.com",
                                  category=None, days=3, reason="curso <b>EAD</b>", ref="abc1-1")
    other = requests.request_access(conn, policy, "estagiario", domain="www.twitch.tv",
                                    category=None, days=1, reason="evento")
    requests.approve(conn, policy, rid, "chefe.ti")
    requests.deny(conn, other, "Sem necessidade de serviço", "chefe.ti", policy)
    requests.appeal(conn, other, "é para o evento da escola", "estagiario", policy)
    out = run(policy)
    assert out.sent == 5 and out.failed == 0
    got = {(m["To"], subject(m)) for m in smtp.messages()}
    assert ("comite@exemplo.gov.br", f"Novo pedido de liberação nº {rid}: www.youtube.com") in got
    assert ("servidor@exemplo.gov.br", f"Pedido nº {rid} aprovado: www.youtube.com") in got
    denial = next(m for m in smtp.messages() if m["To"] == "estagiario@exemplo.gov.br")
    assert "Sem necessidade de serviço" in body(denial) and "recorrer" in body(denial)
    assert any(s.startswith("Recurso contra a negativa") for _, s in got)
    # who was told of what is in the admin history
    told = conn.execute("SELECT subject FROM admin_log WHERE action = 'notify.queued'").fetchall()
    assert len(told) == 5
    assert run(policy).sent == 0  # nothing twice


def test_a_mail_server_that_goes_away_loses_nothing_and_sends_once(ws: Workspace,
                                                                    smtp: SmtpServer) -> None:
    policy = enable(ws, smtp)
    conn = made(policy.paths)
    for i in range(3):
        requests.request_access(conn, policy, "servidor", domain=f"site{i}.example.org",
                                category=None, days=1, reason="trabalho")
    smtp.stop()
    down = run(policy)
    assert down.sent == 0 and down.retried == 1  # one try, then the others wait
    assert "mail server 127.0.0.1" in down.errors[0]
    assert outbox.counts(conn)["pending"] == 3
    smtp.start()
    later = run(policy, now=__import__("time").time() + 120)  # after the back-off
    assert later.sent == 3
    assert len(smtp.messages()) == 3
    assert run(policy, now=__import__("time").time() + 4000).sent == 0
    assert len({m["Message-ID"] for m in smtp.messages()}) == 3


def test_one_digest_per_chief_for_repeated_attempts_and_none_below_the_count(
        ws: Workspace, smtp: SmtpServer) -> None:
    policy = enable(ws, smtp, digest="daily")
    policy = load_policy(ws.config, ws.root)
    attempts(policy, "servidor", "www.pornhub.com", 4, YESTERDAY)
    attempts(policy, "estagiario", "www.xvideos.com", 2, YESTERDAY)  # under the count of 3
    attempts(policy, "servidor", "www.facebook.com", 5, YESTERDAY, rule="time.business_hours",
             categories=("social",))  # a rule of use, not a violation
    out = run(policy, TZ_NOW)
    assert out.queued == 2 and out.sent == 2  # severity media: the user and the chief
    chief = [m for m in smtp.messages() if m["To"] == "coordenador@exemplo.gov.br"]
    assert len(chief) == 1 and "servidor: 4 tentativa(s)" in body(chief[0])
    assert "estagiario" not in body(chief[0]) and "facebook" not in body(chief[0])
    user = [m for m in smtp.messages() if m["To"] == "servidor@exemplo.gov.br"]
    assert len(user) == 1 and "www.pornhub.com" in body(user[0])
    assert {m["To"] for m in smtp.messages()} == {"coordenador@exemplo.gov.br",
                                                  "servidor@exemplo.gov.br"}
    assert run(policy, TZ_NOW + 3600).queued == 0  # the period's digest is made once


def test_art10_par1_the_chiefs_digest_lists_their_staffs_justified_accesses(
        ws: Workspace, smtp: SmtpServer) -> None:
    from addon.state import justifications

    policy = enable(ws, smtp, digest="daily")
    decision = Decision("block", 2, ("video",), "b", "category.blocked", "youtube.com",
                        justifiable=True)
    conn = made(policy.paths)
    try:
        justifications.justify(conn, policy, "servidor", "www.youtube.com", decision,
                               "curso de licitações em vídeo", now=YESTERDAY)
        justifications.justify(conn, policy, "membro", "www.youtube.com", decision,
                               "palestra do congresso em vídeo", now=YESTERDAY)  # no chief
    finally:
        conn.close()
    out = run(policy, TZ_NOW)
    assert out.sent == 1  # no violation: only the chief, for the justified access
    [m] = smtp.messages()
    assert m["To"] == "coordenador@exemplo.gov.br" and "1 acesso(s) justificado(s)" in subject(m)
    text = body(m)
    assert "servidor: youtube.com" in text and '"curso de licitações em vídeo"' in text
    assert "Nenhuma tentativa de acesso proibido" in text and "palestra" not in text


def test_a_grave_violation_reaches_the_offices_with_a_proposal(ws: Workspace,
                                                                smtp: SmtpServer) -> None:
    tree = yaml.safe_load(ws.config.read_text())
    tree["violations"] = {"rules": [{"name": "site_malicioso", "rules": ["malicious"],
                                     "attempts": 1, "severity": "grave", "propose_block": True}],
                          "severities": {"grave": ["chief", "inspector_general"]}}
    ws.config.write_text(yaml.safe_dump(tree, allow_unicode=True))
    policy = enable(ws, smtp)
    attempts(policy, "estagiario", "wicar.org", 1, YESTERDAY, rule="malicious",
             categories=("malware",))
    assert run(policy, TZ_NOW).sent == 2
    office = next(m for m in smtp.messages() if m["To"] == "corregedoria@exemplo.gov.br")
    assert "estagiario (site malicioso)" in body(office) and "confirmação de uma pessoa" in body(office)


def test_the_rate_limit_spreads_a_flood_over_hours(ws: Workspace, smtp: SmtpServer) -> None:
    policy = enable(ws, smtp, per_recipient_per_hour=2)
    conn = made(policy.paths)
    for i in range(5):
        requests.request_access(conn, policy, "servidor", domain=f"s{i}.example.org",
                                category=None, days=1, reason="x")
    now = __import__("time").time()
    first = run(policy, now)
    assert first.sent == 2 and first.postponed == 3
    assert run(policy, now + 60).sent == 0
    assert run(policy, now + 3700).sent == 2


def test_expiry_warning_once_per_end(ws: Workspace, smtp: SmtpServer) -> None:
    policy = enable(ws, smtp)
    conn = made(policy.paths)
    now = __import__("time").time()
    rid = releases.grant(conn, policy, releases.Target("user", "servidor"), domain="www.youtube.com",
                         category=None, start=None, days=0.5, reason="curso", operator="ti")
    run(policy, now)
    run(policy, now + 60)
    warned = [m for m in smtp.messages() if "termina em" in subject(m)]
    assert len(warned) == 1 and warned[0]["To"] == "servidor@exemplo.gov.br"
    assert f"(nº {rid})" in body(warned[0])


def test_a_user_without_an_address_is_a_failed_row_with_the_reason(ws: Workspace,
                                                                    smtp: SmtpServer) -> None:
    policy = enable(ws, smtp)
    conn = made(policy.paths)
    rid = requests.request_access(conn, policy, "membro", domain="x.example.org", category=None,
                                  days=1, reason="y")
    requests.deny(conn, rid, "não", "ti", policy)
    run(policy)
    failed = outbox.listing(conn, "failed")
    assert len(failed) == 1 and "no e-mail address" in failed[0]["error"]


def test_cli_test_outbox_and_flush(ws: Workspace, smtp: SmtpServer) -> None:
    enable(ws, smtp)
    ok = ws.run("notify", "test", "ti@exemplo.gov.br", check=True)
    assert "sent to ti@exemplo.gov.br" in ok.stdout
    assert subject(smtp.messages()[0]) == "Teste de notificação do guarita"
    ws.run("release", "grant", "--to", "user:servidor", "--domain", "www.youtube.com", "--days", "0.5",
           "--reason", "curso", check=True)
    assert "queued 1, sent 1" in ws.run("notify", "flush", check=True).stdout
    rows = json.loads(ws.run("notify", "outbox", "--format", "json", check=True).stdout)
    assert rows[0]["status"] == "sent" and rows[0]["to"] == "servidor@exemplo.gov.br"
    smtp.stop()
    down = ws.run("notify", "test", "ti@exemplo.gov.br")
    assert down.returncode == 2 and "mail server 127.0.0.1" in down.stderr
    assert "Traceback" not in down.stderr


def test_digest_periods_in_local_time(ws: Workspace) -> None:
    policy = load_policy(ws.config, ws.root)
    tz = policy.calendar.tz
    label, start, end = closed_period(TZ_NOW, tz, policy.notify)
    assert label == "23/11/2026" and end - start == 86400
    early = closed_period(TZ_NOW - 3 * 3600, tz, policy.notify)  # 06:00, before digest_hour
    assert early is not None and early[0] == "22/11/2026"


def test_a_bad_directory_address_fails_its_own_row_and_the_mail_behind_it_goes(
        ws: Workspace, smtp: SmtpServer) -> None:
    """A `mail` attribute with CR/LF stopped the whole outbox (ValueError in a header)."""
    policy = enable(ws, smtp)
    tree = yaml.safe_load(ws.config.read_text())
    tree["directory"]["users"]["membro"]["email"] = "zeca@exemplo.gov.br\r\nBcc: intruso@evil.example"
    ws.config.write_text(yaml.safe_dump(tree, allow_unicode=True))
    policy = load_policy(ws.config, ws.root)
    conn = made(policy.paths)
    bad = requests.request_access(conn, policy, "membro", domain="x.example.org", category=None,
                                  days=1, reason="y")
    requests.deny(conn, bad, "não", "ti", policy)  # queued first, for the bad address
    requests.request_access(conn, policy, "servidor", domain="y.example.org", category=None,
                            days=1, reason="z")  # the committee's mail, queued after it
    out = run(policy)
    failed = outbox.listing(conn, "failed")
    assert [r["kind"] for r in failed] == ["release.denied"]
    assert "invalid e-mail address" in failed[0]["error"] and out.failed == 1
    sent = smtp.messages()
    assert sent and all("intruso" not in str(m) for m in sent)
    assert sum(1 for m in sent if "comite@exemplo.gov.br" in m["To"]) == 2  # both requests
    assert not outbox.listing(conn, "pending")


def test_an_event_decision_is_mailed_to_the_person_not_the_operator(ws: Workspace,
                                                                   smtp: SmtpServer) -> None:
    policy = enable(ws, smtp)
    conn = made(policy.paths)
    today = dt.date(2026, 11, 24)
    target = releases.parse_target("user:servidor")
    rid = requests.request_event(conn, policy, target, "zoom", dt.date(2026, 12, 10),
                                 dt.time(14), dt.time(16), "banca", "ti", today=today)
    requests.approve(conn, policy, rid, "ti")
    run(policy)
    mails = [m for m in smtp.messages() if "servidor@exemplo.gov.br" in m["To"]]
    assert len(mails) == 1 and not outbox.listing(conn, "failed")


def test_the_committee_is_mailed_the_periods_checkpoints_a_witness_verify_reads(
        ws: Workspace, smtp: SmtpServer) -> None:
    """audit.email_checkpoints: each chain's last checkpoint of the period goes to the
    committee; the lines pasted into a file are a witness `audit verify --witness` checks."""
    from tests.test_audit_verify import audit_db, write_batches

    enable(ws, smtp, digest="daily")
    tree = yaml.safe_load(ws.config.read_text())
    tree["audit"]["email_checkpoints"] = True
    ws.config.write_text(yaml.safe_dump(tree, allow_unicode=True))
    policy = load_policy(ws.config, ws.root)
    assert policy.audit_witness is not None
    write_batches(policy, 3)
    signed = [e for e in witness.read(policy.audit_witness) if e["kind"] == "checkpoint"]
    assert [e["seq"] for e in signed] == [1, 2, 3]
    tz = policy.calendar.tz
    day = dt.datetime.fromtimestamp(signed[-1]["ts"], tz).date() + dt.timedelta(days=1)
    out = run(policy, dt.datetime.combine(day, dt.time(9), tz).timestamp())
    assert out.sent >= 1
    mail, = [m for m in smtp.messages() if "Pontos de verificação" in subject(m)]
    assert mail["To"] == "comite@exemplo.gov.br"
    text = body(mail)
    lines = text.split("-----\n")[1].split("\n-----")[0].splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [3]  # the last one vouches for all
    emailed = ws.root / "emailed.jsonl"
    emailed.write_text("\n".join(lines) + "\n")
    policy.audit_witness.unlink()  # the server's witness lost: the e-mail still witnesses
    cp = ws.run("audit", "verify", "--witness", str(emailed))
    assert cp.returncode == 0 and "(1 in the witness)" in cp.stdout, cp.stdout + cp.stderr
    with audit_db(policy) as conn:  # the last batch, its seal and its checkpoint all gone
        conn.execute("DELETE FROM audit WHERE id > 20")
        conn.execute("DELETE FROM audit_seals WHERE seq = 3")
        conn.execute("DELETE FROM audit_checkpoints WHERE seq = 3")
    cp = ws.run("audit", "verify", "--witness", str(emailed))
    assert cp.returncode == 1 and "tail cut" in cp.stdout.splitlines()[0], cp.stdout
    cp = ws.run("audit", "verify", "--witness", str(ws.root / "nowhere.jsonl"))
    assert cp.returncode == 2 and "Traceback" not in cp.stderr
