"""A real `guarita run` forwarding to a real rsyslog: after a graceful stop, every record of
the audit log has arrived once, in order, and the proxy's log holds no traceback."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import (
    Workspace,
    guarita_cmd,
    proxied_get,
    start_proxy,
    stop_process,
    wait_until,
)
from tests.support import rsyslog

pytestmark = pytest.mark.skipif(not rsyslog.available(), reason="rsyslogd not installed")


@pytest.mark.parametrize("where", ["proxy", "process"])
def test_every_record_arrives_once_in_order_after_a_graceful_stop(ws: Workspace, tmp_path: Path,
                                                                   where: str) -> None:
    """In the proxy (worker 0's thread), or in `guarita forward run` beside a proxy told not
    to forward."""
    siem = rsyslog.Rsyslog(tmp_path / "siem").start()
    tree = yaml.safe_load(ws.config.read_text())
    tree.setdefault("audit", {})["forward"] = [
        {"name": "siem", "host": "127.0.0.1", "port": siem.port, "backfill": True}]
    ws.config.write_text(yaml.safe_dump(tree, allow_unicode=True))
    own = None
    if where == "process":
        own = subprocess.Popen([*guarita_cmd(), "forward", "run", "--interval", "0.2",
                                "--config", str(ws.config)], cwd=ws.root,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    proxy = start_proxy(ws, *(["--set", "guarita_forwarder=false"] if own else []))
    try:
        statuses = [proxied_get(proxy, f"/pagina{i}") for i in range(40)]
        assert len(statuses) == 40
        output = proxy.stop()  # SIGTERM: the writer writes, then the forwarder drains
    finally:
        proxy.stop()
        proxy.net.stop()
    if own is not None:  # after the proxy's stop: the forwarder drains what it wrote last
        said = stop_process(own)
        assert "forwarding stopped; positions saved" in said, said
        output += said
    with sqlite3.connect(ws.var / "audit.db") as audit:
        ids = [r[0] for r in audit.execute("SELECT id FROM audit ORDER BY id")]
    assert len(ids) >= 40
    try:
        wait_until(lambda: len(siem.audit_ids()) >= len(ids), what="every record at the SIEM")
        assert siem.audit_ids() == ids  # once each, in the log's order
        assert {b["http_request"]["url"]["path"] for b in siem.bodies()} >= \
            {f"/pagina{i}" for i in range(40)}
    finally:
        siem.stop()
    assert "Traceback" not in output and "Addon error" not in output, output
