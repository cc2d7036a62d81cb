"""upstream: a site that fails is a Portuguese page and an `error` record, never mitmproxy's 502."""

from __future__ import annotations

import asyncio

import pytest
from mitmproxy import flow as mflow
from mitmproxy.proxy.layers.http import HttpErrorHook, HttpRequestHeadersHook, HttpRequestHook, _http1, _http2
from mitmproxy.proxy.server_hooks import ClientDisconnectedHook, ServerConnectErrorHook

from addon.proxy.upstream import FORBIDDEN_RULE, classify, render
from tests.proxy.conftest import Chain, connect, make_flow, server_data


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.get_event_loop().run_until_complete(coro)


@pytest.mark.parametrize(("message", "rule"), [
    ("Connection killed: DNS: nao-existe.gov.br: Name or service not known", "upstream.dns"),
    ("[Errno -2] Name or service not known", "upstream.dns"),
    ("[Errno -3] Temporary failure in name resolution", "upstream.dns"),
    ("[Errno 111] Connect call failed ('203.0.113.10', 80)", "upstream.refused"),
    ("Connection refused", "upstream.refused"),
    ("TimeoutError()", "upstream.timeout"),
    ("[Errno 113] No route to host", "upstream.unreachable"),
    ("TLS handshake failed: certificate verify failed", "upstream.tls"),
    ("Server disconnected.", "upstream.closed"),
    ("peer closed connection without sending complete message body", "upstream.closed"),
    ("Connection killed: guarita: destino proibido (vm)", FORBIDDEN_RULE),
    ("something nobody expected", "upstream.failed"),
])
def test_failures_are_named(message: str, rule: str) -> None:
    assert classify(message)[0] == rule


def test_the_page_is_portuguese_escaped_and_says_it_was_not_the_filter() -> None:
    body, headers = render(502, "DNS: x.gov.br: not known", "guarita.invalid",
                           host="<script>x</script>.gov.br")
    page = body.decode()
    assert "Site indisponível" in page and "não bloqueou" in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert headers["server"] == "guarita" and "default-src 'none'" in headers[
        "content-security-policy"]
    blocked = render(502, "Connection killed: guarita: destino proibido (vm)", "guarita.invalid",
                     host="vm")[0].decode()
    assert "Acesso bloqueado" in blocked and "não bloqueou" not in blocked


def test_mitmproxy_answers_with_the_guarita_page_while_loaded(chain: Chain) -> None:
    raw = _http1.make_error_response(502, "[Errno 111] Connect call failed ('203.0.113.10', 80)")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"502" in head.split(b"\r\n")[0] and b"server: guarita" in head.lower()
    assert b"mitmproxy" not in raw and "recusou a conexão" in body.decode()
    assert "Site indisponível" in _http2.format_error(504, "timed out").decode()
    assert _http2.version.MITMPROXY == "guarita"
    chain.upstreamerrors.done()  # unloaded: mitmproxy's own again
    assert b"mitmproxy" in _http1.make_error_response(502, "x")
    assert "mitmproxy" in _http2.version.MITMPROXY


def test_an_allowed_request_whose_site_fails_is_recorded_as_an_error(chain: Chain) -> None:
    chain.login("servidor")
    f = make_flow("http://www.gov.br/a")
    run(chain.hook(HttpRequestHeadersHook(f)))
    run(chain.hook(HttpRequestHook(f)))
    assert f.response is None  # allowed: mitmproxy now connects, and fails
    f.error = mflow.Error("Connection killed: DNS: www.gov.br: Name or service not known")
    run(chain.hook(HttpErrorHook(f)))
    page = _http1.make_error_response(502, f.error.msg).decode()
    assert "www.gov.br" in page and "DNS" in page
    rows = chain.rows()
    assert [(r["decision"], r["rule"], r["status"], r["host"]) for r in rows] == [
        ("error", "upstream.dns", 502, "www.gov.br")]
    assert chain.metric("guarita_requests_total", {"decision": "error", "level": "2",
                                                     "category": "government"}) == 1


def test_a_client_that_leaves_is_not_an_upstream_error(chain: Chain) -> None:
    chain.login("servidor")
    f = make_flow("http://www.gov.br/a")
    run(chain.hook(HttpRequestHeadersHook(f)))
    f.error = mflow.Error("Client disconnected.")
    run(chain.hook(HttpErrorHook(f)))
    assert [r["decision"] for r in chain.rows()] == ["allow"]


def test_a_refused_request_is_not_an_upstream_error(chain: Chain) -> None:
    f = make_flow("http://www.gov.br/")  # nobody logged in: 407
    run(chain.hook(HttpRequestHeadersHook(f)))
    f.error = mflow.Error("Connection killed.")
    run(chain.hook(HttpErrorHook(f)))
    assert [r["decision"] for r in chain.rows()] == ["block"]


def test_an_allowed_tunnel_whose_site_fails_is_recorded_as_an_error(chain: Chain) -> None:
    chain.login("servidor")
    f = run(connect(chain, "www.gov.br"))
    data = server_data(f, ("203.0.113.10", 443))
    data.server.error = "[Errno 111] Connect call failed ('203.0.113.10', 443)"
    run(chain.hook(ServerConnectErrorHook(data)))
    run(chain.hook(ClientDisconnectedHook(f.client_conn)))
    assert [(r["method"], r["decision"], r["rule"], r["status"]) for r in chain.rows()] == [
        ("CONNECT", "error", "upstream.refused", 502)]
