"""auditlog: one record per flow from its verdict; no bytes a client sends can stop the log."""

from __future__ import annotations

import asyncio
import sqlite3
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mitmproxy.proxy.layers.http import HttpConnectHook, HttpErrorHook
from mitmproxy.proxy.server_hooks import ClientDisconnectedHook

from addon.audit.writer import AuditWriter
from tests.proxy.conftest import Chain, make_flow, send


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.get_event_loop().run_until_complete(coro)


def test_hole1_a_method_that_is_not_utf8_is_recorded_and_the_log_goes_on(chain: Chain) -> None:
    chain.login("servidor")
    bad = make_flow("http://www.gov.br/")
    bad.request.data.method = b"G\xffT"
    run(send(chain, bad))
    for i in range(20):
        run(send(chain, make_flow(f"http://www.gov.br/{i}")))
    rows = chain.rows()
    assert len(rows) == 21 and rows[0]["method"] == "G\\xffT"
    assert chain.auditlog.writer.restarts == 0


raw = st.binary(min_size=1, max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=raw, path=raw, host_header=raw, sni=st.text(max_size=20), header=raw)
def test_hole1_any_bytes_anywhere_in_a_request_are_recorded(chain: Chain, method: bytes,
                                                           path: bytes, host_header: bytes,
                                                           sni: str, header: bytes) -> None:
    before = len(chain.rows())
    f = make_flow("http://www.gov.br/")
    f.request.data.method = method
    f.request.data.path = path
    f.request.headers[b"host"] = host_header
    f.request.headers[b"x-junk"] = header
    f.client_conn.tls, f.client_conn.sni = True, sni or None
    run(send(chain, f))
    rows = chain.rows()
    assert len(rows) == before + 1  # recorded, whatever it was
    assert rows[-1]["decision"] in ("allow", "block")
    assert chain.auditlog.writer.restarts == 0 and chain.auditlog.writer.last_error is None


def test_a_flow_that_dies_before_any_decision_is_still_recorded(chain: Chain) -> None:
    f = make_flow()
    f.error = __import__("mitmproxy").flow.Error("client disconnected")
    run(chain.hook(HttpErrorHook(f)))
    row = chain.rows()[-1]
    assert row["rule"] == "request.undecided" and row["decision"] == "block"


def test_each_flow_is_recorded_once(chain: Chain) -> None:
    chain.login("servidor")
    f = run(send(chain, make_flow()))
    run(chain.hook(HttpErrorHook(f)))  # an error after the response: no second record
    assert len(chain.rows()) == 1


def test_query_string_is_kept_only_when_asked(chain: Chain) -> None:
    chain.login("servidor")
    run(send(chain, make_flow("http://www.gov.br/a?token=secret")))
    chain.tctx.options.update(guarita_audit_query=True)
    run(send(chain, make_flow("http://www.gov.br/b?q=1")))
    assert [r["path"] for r in chain.rows()] == ["/a", "/b?q=1"]


def test_the_policys_audit_keep_query_keeps_it_too(chain: Chain) -> None:
    import yaml

    tree = yaml.safe_load(chain.ws.config.read_text())
    tree["audit"] = {"keep_query": True}
    chain.ws.config.write_text(yaml.safe_dump(tree, allow_unicode=True))
    chain.reload.tick(force_policy=True)
    assert chain.reload.runtime.policy.audit_keep_query
    chain.login("servidor")
    run(send(chain, make_flow("http://www.gov.br/c?caso=7")))
    assert chain.rows()[-1]["path"] == "/c?caso=7"


def test_hole9_a_full_queue_holds_the_request_not_the_event_loop(chain: Chain) -> None:
    chain.login("servidor")
    path = chain.ws.var / "slow.db"
    writer = AuditWriter(path, flush_interval=0.02, max_queue=2)
    chain.auditlog.writer.close()
    chain.auditlog.writer = writer
    lock = sqlite3.connect(path, timeout=0, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")  # the disk "cannot keep up": every write is refused

    async def scenario() -> tuple[int, bool]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        t = asyncio.ensure_future(ticker())
        held = asyncio.ensure_future(asyncio.gather(
            *(send(chain, make_flow(f"http://www.gov.br/{i}")) for i in range(5))))
        await asyncio.sleep(0.5)
        waiting = not held.done()
        lock.execute("ROLLBACK")  # the disk is back
        await asyncio.wait_for(held, 30)
        t.cancel()
        return ticks, waiting

    ticks, waiting = run(scenario())
    assert waiting and ticks > 20  # requests were held; the loop ran all along
    assert chain.metric("guarita_audit_backpressure_total") >= 1
    assert writer.flush(15)
    assert sqlite3.connect(path).execute("SELECT count(*) FROM audit").fetchone()[0] == 5


def test_metrics_count_decisions_with_bounded_labels(chain: Chain) -> None:
    chain.login("servidor")
    run(send(chain, make_flow("http://www.pornhub.com/")))
    run(send(chain, make_flow(f"http://unlisted-{time.time_ns()}.example/")))
    assert chain.metric("guarita_requests_total",
                        {"decision": "block", "level": "2", "category": "adult"}) == 1
    assert chain.metric("guarita_requests_total",
                        {"decision": "allow", "level": "2", "category": "none"}) == 1


def test_a_record_that_cannot_be_made_leaves_a_record_of_last_resort(chain: Chain,
                                                                    monkeypatch) -> None:  # noqa: ANN001
    chain.login("servidor")

    def boom(flow):  # noqa: ANN001, ANN202
        raise ValueError("bug")

    monkeypatch.setattr(chain.auditlog, "_record", boom)
    run(send(chain, make_flow("http://www.gov.br/x")))
    row = chain.rows()[-1]
    assert row["rule"] == "request.undecided" and "www.gov.br" in row["host"]
    assert chain.metric("guarita_errors_total", {"where": "audit_record"}) == 1


def test_a_new_state_folder_moves_the_audit_log_and_nothing_is_lost(chain: Chain) -> None:
    import yaml

    chain.login("servidor")
    run(send(chain, make_flow("http://www.gov.br/1")))
    first = chain.auditlog.writer
    tree = yaml.safe_load(chain.ws.config.read_text())
    tree["paths"]["state"] = "var2"
    other = chain.ws.root / "other.yaml"
    other.write_text(yaml.safe_dump(tree, allow_unicode=True))
    chain.tctx.options.update(guarita_policy=str(other))
    assert chain.auditlog.writer is not first and first.stopped
    assert sqlite3.connect(chain.ws.var / "audit.db").execute(
        "SELECT count(*) FROM audit").fetchone()[0] == 1


def test_writer_errors_are_counted(chain: Chain) -> None:
    chain.auditlog._on_error("writer restarted: boom")
    assert chain.metric("guarita_audit_writer_restarts_total") == 1
    assert chain.metric("guarita_errors_total", {"where": "audit"}) == 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=st.binary(min_size=1, max_size=60), port=st.integers(0, 65535))
def test_hole1_any_bytes_in_a_connect_target_are_recorded(chain: Chain, target: bytes,
                                                         port: int) -> None:
    before = len(chain.rows())
    f = make_flow("http://www.gov.br/", "CONNECT")
    f.request.data.host = target.decode("utf-8", "surrogateescape")  # as mitmproxy decodes it
    f.request.data.port = port
    f.request.path = ""
    run(chain.hook(HttpConnectHook(f)))
    run(chain.hook(ClientDisconnectedHook(f.client_conn)))  # an allowed tunnel records on close
    assert len(chain.rows()) == before + 1
    assert chain.auditlog.writer.restarts == 0 and chain.auditlog.writer.last_error is None
