"""forwarder: the running proxy forwards on its own thread, follows the policy's targets,
and says in metrics how each one stands."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml

from addon.audit.record import record
from addon.audit.writer import AuditWriter
from addon.policy.model import Decision, Identity
from tests.conftest import Workspace, wait_until
from tests.proxy.conftest import Chain
from tests.support import rsyslog

pytestmark = pytest.mark.skipif(not rsyslog.available(), reason="rsyslogd not installed")


def targets(ws: Workspace, *listed: dict) -> None:
    tree = yaml.safe_load(ws.config.read_text())
    tree.setdefault("audit", {})["forward"] = list(listed)
    ws.config.write_text(yaml.safe_dump(tree, allow_unicode=True))


def write(chain: Chain, n: int) -> None:
    w = AuditWriter(chain.reload.runtime.policy.paths.audit_target, flush_interval=0.01)
    d = Decision("block", 2, ("social_networks",), "r", "category.blocked")
    for i in range(n):
        w.submit(record(1.0e9 + i, f"r{i}", Identity("servidor", frozenset(), 2), d, "GET",
                        "http", "www.facebook.com", 80, "/", 403, 0, 10, 1.0, "10.0.0.5"))
    assert w.close() == 0


def test_a_round_forwards_counts_and_follows_the_policy(
        ws: Workspace, tmp_path: Path, chain: Chain, caplog: pytest.LogCaptureFixture) -> None:
    siem = rsyslog.Rsyslog(tmp_path / "siem").start()
    try:
        targets(ws, {"name": "siem", "host": "127.0.0.1", "port": siem.port, "backfill": True},
                {"name": "hidden", "host": "127.0.0.1", "port": siem.port,
                 "pseudonymise": {"key_env": "GUARITA_TEST_NO_SUCH_KEY"}})
        chain.reload.tick()
        write(chain, 5)
        with caplog.at_level(logging.ERROR, "guarita.forward"):
            chain.forwarder.round()
            chain.forwarder.round()
        assert chain.metric("guarita_forwarded_total", {"target": "siem", "kind": "audit"}) == 5
        wait_until(lambda: len(siem.audit_ids()) == 5, what="five records at the SIEM")
        # the target without its key sends nothing and says why, once
        assert [r.getMessage() for r in caplog.records].count(
            "forward hidden: pseudonymise.key_env: the variable GUARITA_TEST_NO_SUCH_KEY is not "
            "set: nothing is sent without the key") == 1
        assert set(chain.forwarder.shippers) == {"siem"}
        siem.stop()
        write(chain, 2)
        chain.forwarder.round()
        chain.forwarder.round()
        assert chain.metric("guarita_forward_errors_total", {"target": "siem"}) >= 1
        assert chain.metric("guarita_forward_behind_records", {"target": "siem"}) >= 2
        targets(ws)  # the policy drops its targets: nothing more is sent
        chain.reload.tick()
        chain.forwarder.round()
        assert chain.forwarder.shippers == {}
    finally:
        siem.stop()
