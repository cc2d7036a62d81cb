"""shipper: every committed record reaches a real rsyslog once, in order; a receiver that
goes away under load loses nothing; a restart resumes from the saved position."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from addon.audit import query
from addon.audit.record import record
from addon.audit.writer import AuditWriter
from addon.forward.shipper import Shipper, shape_of
from addon.forward.transport import ForwardError, Link
from addon.policy.model import Decision, Identity, Policy
from addon.settings.load import load_policy
from addon.state import history, positions
from tests.conftest import Workspace, wait_until
from tests.support import rsyslog
from tests.support.store import made

pytestmark = pytest.mark.skipif(not rsyslog.available(), reason="rsyslogd not installed")


@pytest.fixture
def siem(tmp_path: Path) -> Any:
    server = rsyslog.Rsyslog(tmp_path / "siem").start()
    yield server
    server.stop()


def with_target(ws: Workspace, **target: object) -> Policy:
    tree = yaml.safe_load(ws.config.read_text())
    tree.setdefault("audit", {})["forward"] = [{"name": "siem", "host": "127.0.0.1", **target}]
    ws.config.write_text(yaml.safe_dump(tree, allow_unicode=True))
    return load_policy(ws.config)


def write(policy: Policy, n: int, user: str = "servidor", start: int = 0) -> None:
    w = AuditWriter(policy.paths.audit_target, flush_interval=0.01)
    d = Decision("allow", 2, ("government",), "r", "level.allowed")
    for i in range(start, start + n):
        w.submit(record(time.time(), f"ref{i}", Identity(user, frozenset(), 2, source="basic"),
                        d, "GET", "http", "www.gov.br", 80, f"/p{i}", 200, 10, 100, 1.0,
                        "10.0.0.5"))
    assert w.close() == 0


def drained(shipper: Shipper, policy: Policy) -> bool:
    state, audit = made(policy.paths), query.open_readonly(policy.paths)
    try:
        return shipper.drain(audit, state, 15)
    finally:
        state.close()
        if audit is not None:
            audit.close()


def test_every_record_and_admin_operation_arrives_once_in_order(any_ws: Workspace, siem: Any) -> None:
    policy = with_target(any_ws, port=siem.port, backfill=True)
    write(policy, 1200)  # more than one batch
    state = made(policy.paths)
    with state:
        history.record(state, "ti.ana", "block.add", "user:estagiario", None, {"reason": "x"})
    shipper = Shipper(policy.audit_forward[0], shape_of(policy.audit_forward[0]), settle=0.2)
    assert drained(shipper, policy)
    wait_until(lambda: len(siem.audit_ids()) >= 1200, what="1200 records at the SIEM")
    ids = siem.audit_ids()
    assert ids == sorted(set(ids)) and len(ids) == 1200  # once each, in order
    bodies = siem.bodies()
    assert bodies[0]["class_uid"] == 4002 and bodies[0]["actor"]["user"]["name"] == "servidor"
    assert bodies[-1]["http_request"]["url"]["path"] == "/p1199"
    [admin] = siem.bodies("admin")
    assert admin["api"]["operation"] == "block.add" and admin["actor"]["user"]["name"] == "ti.ana"
    admin_id = int(str(admin["metadata"]["uid"]).split(":")[1])
    assert positions.read(state, "siem") == (ids[-1], admin_id)  # saved at the stop


def test_a_new_target_starts_at_the_end_and_a_restart_resumes(ws: Workspace, siem: Any) -> None:
    policy = with_target(ws, port=siem.port)
    write(policy, 10)  # before the target existed: not sent (no backfill)
    target = policy.audit_forward[0]
    assert drained(Shipper(target, shape_of(target), settle=0.1), policy)
    write(policy, 5, start=10)
    assert drained(Shipper(target, shape_of(target), settle=0.1), policy)  # a restart
    wait_until(lambda: len(siem.audit_ids()) >= 5, what="the five new records")
    assert [b["http_request"]["url"]["path"] for b in siem.bodies()] == \
        [f"/p{i}" for i in range(10, 15)]
    [row] = json.loads(ws.run("forward", "status", "--format", "json", check=True).stdout)
    assert (row["target"], row["status"], row["behind_audit"]) == ("siem", "up to date", 0)
    write(policy, 3, start=15)  # the proxy is away: they wait, and the command says so
    [row] = json.loads(ws.run("forward", "status", "--format", "json", check=True).stdout)
    assert (row["status"], row["behind_audit"]) == ("3 waiting", 3)


def test_a_receiver_away_under_load_loses_nothing_and_the_backlog_drains(
        ws: Workspace, siem: Any) -> None:
    policy = with_target(ws, port=siem.port, batch=200)
    target = policy.audit_forward[0]
    write(policy, 1)
    state, audit = made(policy.paths), query.open_readonly(policy.paths)
    assert audit is not None
    errors: list[str] = []
    shipper = Shipper(target, shape_of(target), settle=0.2, on_error=errors.append)
    shipper.round(audit, state)
    first = shipper.position
    assert first is not None
    stop = threading.Event()

    def load() -> None:
        i = 0
        while not stop.is_set():
            write(policy, 50, start=i)
            i += 50

    writer = threading.Thread(target=load)
    writer.start()
    try:
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            shipper.round(audit, state)
            time.sleep(0.05)
        siem.stop()  # the SIEM goes away while records keep coming
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            shipper.round(audit, state)
            time.sleep(0.05)
        assert shipper.down is not None and shipper.behind > 0
        siem.start()
        shipper.retry_at = 0.0  # no need to wait out the back-off in a test
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            shipper.round(audit, state)
            time.sleep(0.05)
    finally:
        stop.set()
        writer.join()
    assert shipper.drain(audit, state, 20)
    last = int(audit.execute("SELECT max(id) FROM audit").fetchone()[0])
    wait_until(lambda: set(range(first[0] + 1, last + 1)) <= set(siem.audit_ids()),
               what="every record after the outage")
    # a line when it went away and one when it refused, not one per retry
    assert errors and len(errors) == len(set(errors)) and all("forward siem" in e for e in errors)
    assert shipper.behind == 0
    state.close()
    audit.close()


def test_a_pseudonymised_target_never_receives_a_login(ws: Workspace, siem: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARITA_SIEM_KEY", "s3cret-key")
    policy = with_target(ws, port=siem.port, backfill=True, format="cef",
                         pseudonymise={"key_env": "GUARITA_SIEM_KEY"})
    write(policy, 3, user="servidor.joao")
    state = made(policy.paths)
    with state:
        history.record(state, "ti.ana", "block.add", "user:servidor.joao", None,
                       {"user": "servidor.joao"})
    target = policy.audit_forward[0]
    assert drained(Shipper(target, shape_of(target), settle=0.1), policy)
    wait_until(lambda: len(siem.messages()) >= 4, what="three records and one operation")
    received = siem.out.read_text()
    assert "servidor.joao" not in received and "ti.ana" not in received
    users = {b.split("suser=")[1].split(" ")[0] for _, kind, _, b in siem.messages()
             if kind == "audit"}
    assert len(users) == 1 and users.pop().startswith("pseud:")  # one person, one pseudonym


def test_a_pseudonymised_target_without_its_key_sends_nothing(ws: Workspace) -> None:
    policy = with_target(ws, port=1, pseudonymise={"key_env": "GUARITA_NO_SUCH_KEY"})
    with pytest.raises(ForwardError, match="GUARITA_NO_SUCH_KEY is not set"):
        shape_of(policy.audit_forward[0], env={})


def test_tls_with_the_receivers_ca_and_a_wrong_ca_refused_in_one_line(ws: Workspace,
                                                                       tmp_path: Path) -> None:
    server = rsyslog.Rsyslog(tmp_path / "tls", tls=True).start()
    try:
        policy = with_target(ws, port=server.port, transport="tls", ca_file=str(server.ca),
                             backfill=True)
        write(policy, 3)
        target = policy.audit_forward[0]
        assert drained(Shipper(target, shape_of(target), settle=0.1), policy)
        wait_until(lambda: len(server.audit_ids()) == 3, what="three records over TLS")
        wrong, _, _ = rsyslog.make_ca(tmp_path / "other", "other")
        other = with_target(ws, port=server.port, transport="tls", ca_file=str(wrong))
        with pytest.raises(ForwardError) as refused:
            Link(other.audit_forward[0])
        line = str(refused.value)
        assert "\n" not in line and "TLS refused" in line and "not trusted" in line \
            and "local issuer" in line
    finally:
        server.stop()


def test_a_log_whose_ids_went_back_is_sent_from_its_start(ws: Workspace, siem: Any) -> None:
    policy = with_target(ws, port=siem.port, backfill=True)
    write(policy, 5)
    target = policy.audit_forward[0]
    assert drained(Shipper(target, shape_of(target), settle=0.1), policy)
    with sqlite3.connect(ws.var / "audit.db") as log:  # the retention emptied it
        log.execute("DELETE FROM audit")
    write(policy, 2, start=100)  # SQLite counts from 1 again
    assert drained(Shipper(target, shape_of(target), settle=0.1), policy)
    wait_until(lambda: len(siem.audit_ids()) == 7, what="the two new records too")
    assert [b["http_request"]["url"]["path"] for b in siem.bodies()][-2:] == ["/p100", "/p101"]
