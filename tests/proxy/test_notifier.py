"""notifier: the running proxy sends the outbox on its own thread, and says so in metrics."""

from __future__ import annotations

from pathlib import Path

import yaml

from addon.state import requests
from tests.conftest import Workspace
from tests.proxy.conftest import Chain
from tests.support.smtp import SmtpServer
from tests.support.store import made


def test_a_round_sends_the_outbox_and_counts(ws: Workspace, tmp_path: Path, chain: Chain) -> None:
    smtp = SmtpServer(tmp_path / "smtp").start()
    try:
        tree = yaml.safe_load(ws.config.read_text())
        tree["notifications"] = {"smtp": {"host": "127.0.0.1", "port": smtp.port},
                                 "committee": ["comite@exemplo.gov.br"]}
        ws.config.write_text(yaml.safe_dump(tree, allow_unicode=True))
        chain.reload.tick()
        policy = chain.reload.runtime.policy
        assert policy.notify.enabled
        requests.request_access(made(policy.paths), policy, "servidor",
                                domain="www.youtube.com", category=None, days=1, reason="curso")
        chain.notifier.round()
        assert [m["To"] for m in smtp.messages()] == ["comite@exemplo.gov.br"]
        assert chain.metric("guarita_notifications_total", {"result": "sent"}) == 1
        assert chain.metric("guarita_notifications_pending") == 0
        smtp.stop()
        requests.request_access(made(policy.paths), policy, "servidor",
                                domain="www.twitch.tv", category=None, days=1, reason="curso")
        chain.notifier.round()  # the server is away: kept, counted, one line in the log
        assert chain.metric("guarita_notifications_total", {"result": "retried"}) == 1
        assert chain.metric("guarita_notifications_pending") == 1
    finally:
        smtp.stop()


def test_nothing_happens_while_notifications_are_off(chain: Chain) -> None:
    chain.notifier.round()
    assert chain.metric("guarita_notifications_pending") == 0


def test_a_round_applies_the_retention_even_without_notifications(chain: Chain) -> None:
    import time

    from addon.audit.record import record
    from addon.policy.model import Decision, Identity

    policy = chain.reload.runtime.policy
    assert not policy.notify.enabled and policy.audit_retention_days == 183
    writer = chain.auditlog.writer
    old = time.time() - 200 * 86400
    writer.submit(record(old, "velho", Identity("servidor", frozenset(), 2), Decision(
        "allow", 2, (), "r", "level.allowed"), "GET", "http", "www.gov.br", 80, "/", 200, 0, 0,
        1.0, "10.0.0.5"))
    assert writer.flush(10)
    chain.notifier.round()
    assert "velho" not in [r["ref"] for r in chain.rows()]
    chain.notifier.round()  # once a day: nothing more, and no error
