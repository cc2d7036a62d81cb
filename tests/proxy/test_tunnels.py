"""tunnels: the SNI decides again, non-TLS is closed, one record per tunnel with its bytes."""

from __future__ import annotations

import asyncio

from mitmproxy import tls
from mitmproxy.proxy import context, events, layer
from mitmproxy.proxy.layers.tcp import TcpStartHook
from mitmproxy.proxy.layers.tls import TlsClienthelloHook, parse_client_hello
from mitmproxy.proxy.server_hooks import ClientDisconnectedHook, ServerConnectHook
from mitmproxy.test import tflow

from addon.proxy.verdict import VERDICT
from tests.proxy.conftest import Chain, connect, make_flow, send, server_data
from tests.support import hello as hellos


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.get_event_loop().run_until_complete(coro)


def client_hello(sni: str | None, ech: bool = False) -> tls.ClientHello:
    """A real ClientHello, as Python's own TLS client writes it (with ECH, if asked)."""
    hello = parse_client_hello(hellos.client_hello(sni, ech))
    assert hello is not None
    return hello


def hello_data(chain: Chain, f, sni: str | None, ech: bool = False  # noqa: ANN001
               ) -> tls.ClientHelloData:
    ctx = context.Context(f.client_conn, chain.tctx.options)
    data = tls.ClientHelloData(ctx, client_hello(sni, ech))
    run(chain.hook(TlsClienthelloHook(data)))
    return data


def test_allowed_tunnel_passes_through_and_is_recorded_once_with_its_bytes(chain: Chain) -> None:
    chain.login("servidor")
    f = run(connect(chain, "www.gov.br"))
    data = hello_data(chain, f, "www.gov.br")
    assert data.ignore_connection  # passed through undecrypted
    ctx = context.Context(f.client_conn, chain.tctx.options)
    nl = layer.NextLayer(ctx)
    nl.layer = Child(ctx)
    chain.tunnels.next_layer(nl)
    for _ in nl.layer.handle_event(events.DataReceived(f.client_conn, b"x" * 100)):
        pass
    server = tflow.tserver_conn()
    for _ in nl.layer.handle_event(events.DataReceived(server, b"y" * 5000)):
        pass
    run(chain.hook(ClientDisconnectedHook(f.client_conn)))
    rows = chain.rows()
    assert len(rows) == 1
    r = rows[0]
    assert (r["method"], r["host"], r["decision"], r["status"]) == ("CONNECT", "www.gov.br",
                                                                     "allow", 200)
    assert (r["bytes_in"], r["bytes_out"]) == (100, 5000)


class Child(layer.Layer):
    def _handle_event(self, event):  # noqa: ANN001, ANN202
        yield from ()


def test_blocked_sni_kills_the_tunnel_before_any_upstream_connection(chain: Chain) -> None:
    chain.login("servidor")
    f = run(connect(chain, "www.gov.br"))
    hello_data(chain, f, "www.pornhub.com")
    sd = server_data(f, ("www.gov.br", 443))
    run(chain.hook(ServerConnectHook(sd)))
    assert sd.server.error
    run(chain.hook(ClientDisconnectedHook(f.client_conn)))
    r = chain.rows()[0]
    assert (r["host"], r["decision"], r["rule"], r["status"]) == (
        "www.pornhub.com", "block", "category.blocked", 403)


def test_sni_naming_the_proxys_own_host_is_refused(chain: Chain) -> None:
    chain.login("membro")
    f = run(connect(chain, "www.gov.br"))
    hello_data(chain, f, "localhost")
    run(chain.hook(ClientDisconnectedHook(f.client_conn)))
    assert chain.rows()[0]["rule"] == "destination.forbidden"


def test_same_sni_and_no_sni_keep_the_connect_decision(chain: Chain) -> None:
    chain.login("servidor")
    for sni in ("www.gov.br", None):
        f = run(connect(chain, "www.gov.br"))
        assert hello_data(chain, f, sni).ignore_connection
        sd = server_data(f, ("www.gov.br", 443))
        run(chain.hook(ServerConnectHook(sd)))
        assert not sd.server.error


def test_intercept_decrypts_allowed_tunnels_only(chain: Chain) -> None:
    chain.login("servidor")
    chain.tctx.options.update(guarita_intercept=True)
    f = run(connect(chain, "www.gov.br"))
    assert not hello_data(chain, f, "www.gov.br").ignore_connection
    g = run(connect(chain, "www.gov.br"))
    assert hello_data(chain, g, "www.xvideos.com").ignore_connection  # refused, not opened


def test_tls_without_a_decided_connect_is_never_passed_through(chain: Chain) -> None:
    f = tflow.tflow()
    data = hello_data(chain, f, "www.gov.br")
    sd = server_data(f, ("www.gov.br", 443))
    run(chain.hook(ServerConnectHook(sd)))
    assert data.ignore_connection and sd.server.error


def test_a_tunnel_that_is_not_tls_is_closed(chain: Chain) -> None:
    chain.login("servidor")
    f = run(connect(chain, "www.gov.br"))
    tcp = tflow.ttcpflow()
    tcp.client_conn = f.client_conn
    run(chain.hook(TcpStartHook(tcp)))
    assert tcp.error is not None  # killed
    run(chain.hook(ClientDisconnectedHook(f.client_conn)))
    assert chain.rows()[0]["rule"] == "tunnel.not_tls"


def test_malformed_sni_is_recorded_safely(chain: Chain) -> None:
    chain.login("servidor")
    f = run(connect(chain, "www.gov.br"))
    tunnel = chain.tunnels.tunnels[f.client_conn.id]
    chain.tunnels._check_sni(tunnel, "bad\udcffname")
    run(chain.hook(ClientDisconnectedHook(f.client_conn)))
    r = chain.rows()[0]
    assert r["rule"] == "request.malformed" and r["host"] == "bad\\xffname"


def test_a_pass_through_tunnel_counts_in_mitmproxys_own_relay(chain: Chain) -> None:
    from mitmproxy.connection import ConnectionState
    from mitmproxy.proxy import commands
    from mitmproxy.proxy.layers.tcp import TCPLayer

    from addon.proxy.bytecount import CountingRelay

    chain.login("servidor")
    f = run(connect(chain, "www.gov.br"))
    ctx = context.Context(f.client_conn, chain.tctx.options)
    ctx.server = tflow.tserver_conn()
    nl = layer.NextLayer(ctx)
    nl.layer = TCPLayer(ctx, ignore=True)  # what mitmproxy chooses for ignored TLS
    chain.tunnels.next_layer(nl)
    relay = nl.layer
    assert isinstance(relay, CountingRelay)
    relay._handle_event = relay.relay_messages  # started: the server is connected
    sent = list(relay.handle_event(events.DataReceived(f.client_conn, b"h" * 300)))
    sent += list(relay.handle_event(events.DataReceived(ctx.server, b"d" * 7000)))
    assert [type(c) for c in sent] == [commands.SendData, commands.SendData]
    assert sent[0].connection is ctx.server and sent[1].connection is f.client_conn
    f.client_conn.state = ctx.server.state = ConnectionState.CLOSED
    closing = list(relay.handle_event(events.ConnectionClosed(ctx.server)))
    assert closing == []  # both sides already closed: mitmproxy's own closing logic ran
    run(chain.hook(ClientDisconnectedHook(f.client_conn)))
    r = chain.rows()[0]
    assert (r["bytes_in"], r["bytes_out"]) == (300, 7000)


def test_art10_VII_a_connect_to_an_unlisted_ip_without_sni_is_refused(chain: Chain) -> None:
    chain.login("servidor")
    f = run(connect(chain, "203.0.113.50"))
    assert f.response.status_code == 403
    assert chain.rows()[-1]["rule"] == "ip_literal.unlisted"
    chain.login("membro")  # level 3: the shipped threshold
    g = run(connect(chain, "203.0.113.50"))
    assert g.response is None
    hello_data(chain, g, None)  # no SNI: the decision on the address stands
    assert not chain.tunnels.tunnels[g.client_conn.id].refused


def test_https_block_page_decrypts_only_the_blocked_tunnel_and_records_it_once(
        chain: Chain) -> None:
    chain.tctx.options.update(guarita_https_block_page=True)
    chain.login("servidor")
    allowed = run(connect(chain, "www.gov.br"))
    assert hello_data(chain, allowed, "www.gov.br").ignore_connection  # still undecrypted
    f = run(connect(chain, "www.pornhub.com"))
    assert f.response is None  # accepted: "200 Connection established", for the page
    data = hello_data(chain, f, "www.pornhub.com")
    assert not data.ignore_connection and not data.establish_server_tls_first
    upstream = server_data(f, ("www.pornhub.com", 443))
    run(chain.hook(ServerConnectHook(upstream)))
    assert upstream.server.error  # nothing inside ever reaches the site
    refs = set()
    for path in ("/", "/favicon.ico"):
        inner = make_flow(f"https://www.pornhub.com{path}", headers={"accept": "text/html"})
        inner.client_conn = f.client_conn
        run(send(chain, inner))
        assert inner.response.status_code == 403
        page = inner.response.get_text()
        assert "Conteúdo adulto" in page and "www.pornhub.com" in page and "Pedir liberação" in page
        refs.add(inner.metadata[VERDICT].ref)
    assert refs == {f.metadata[VERDICT].ref}  # the page shows the tunnel's reference
    assert chain.upstream == []
    run(chain.hook(ClientDisconnectedHook(f.client_conn)))
    rows = [r for r in chain.rows() if r["host"] == "www.pornhub.com"]
    assert [(r["method"], r["decision"], r["status"], r["ref"]) for r in rows] == [
        ("CONNECT", "block", 403, f.metadata[VERDICT].ref)]  # one record: the blocked tunnel


def test_the_https_block_pages_form_posts_to_its_own_origin_and_is_filed(chain: Chain) -> None:
    """Issue 24, finding 8: a form from an HTTPS page to plain HTTP makes the browser warn.
    The HTTPS block page posts to its own origin; the proxy answers it inside the tunnel,
    files the request and never connects to the site."""
    import json

    chain.tctx.options.update(guarita_https_block_page=True)
    chain.login("servidor")
    f = run(connect(chain, "www.youtube.com"))
    hello_data(chain, f, "www.youtube.com")
    page = make_flow("https://www.youtube.com/watch", headers={"accept": "text/html"})
    page.client_conn = f.client_conn
    run(send(chain, page))
    text = page.response.get_text()
    assert '<form method="post" action="/pedido">' in text
    assert "form-action 'self' http://guarita.invalid/pedido" in \
        page.response.headers["content-security-policy"]
    ref = f.metadata[VERDICT].ref
    token = text.split('name="token" value="', 1)[1].split('"', 1)[0]
    form = make_flow("https://www.youtube.com/pedido", "POST", body=(
        f"host=www.youtube.com&ref={ref}&token={token}&reason=curso+EAD&days=2").encode())
    form.client_conn = f.client_conn
    run(send(chain, form))
    answer = form.response.get_text()
    assert form.response.status_code == 200 and "Pedido registrado" in answer
    assert f"Referência do bloqueio: {ref}." in answer
    assert chain.upstream == []
    pending = json.loads(chain.ws.run("release", "requests", "--format", "json",
                                      check=True).stdout)
    assert [(r["object"], r["status"]) for r in pending] == [("www.youtube.com", "requested")]
    assert [(r["host"], r["rule"]) for r in chain.rows() if r["method"] == "POST"] == [
        ("guarita.invalid", "portal")]  # recorded as the portal's, not as the blocked site's
    other = make_flow("https://www.youtube.com/outra", "POST", body=b"x=1")
    other.client_conn = f.client_conn
    run(send(chain, other))
    assert other.response.status_code == 403  # any other POST inside still gets the page


def test_without_the_option_a_blocked_connect_is_refused_before_tls(chain: Chain) -> None:
    chain.login("servidor")
    f = run(connect(chain, "www.pornhub.com"))
    assert f.response.status_code == 403
    assert chain.enforce.notes.pages == {}


def test_a_challenge_or_a_foreign_port_is_never_turned_into_a_page(chain: Chain) -> None:
    chain.tctx.options.update(guarita_https_block_page=True)
    nobody = run(connect(chain, "www.gov.br"))
    assert nobody.response.status_code == 407  # the browser asks for the login itself
    chain.login("servidor")
    ssh = run(connect(chain, "www.gov.br", port=22))
    assert ssh.response.status_code == 403
    assert chain.enforce.notes.pages == {}


def test_ech_hiding_the_site_behind_another_name_is_refused(chain: Chain) -> None:
    chain.login("servidor")
    f = run(connect(chain, "www.gov.br"))
    data = hello_data(chain, f, "cloudflare-ech.com", ech=True)  # the provider's public name
    assert data.ignore_connection  # never decrypted, never connected
    sd = server_data(f, ("www.gov.br", 443))
    run(chain.hook(ServerConnectHook(sd)))
    assert sd.server.error
    run(chain.hook(ClientDisconnectedHook(f.client_conn)))
    r = chain.rows()[0]
    assert (r["host"], r["decision"], r["rule"]) == ("www.gov.br", "block", "tls.ech")


def test_grease_ech_naming_the_real_host_passes(chain: Chain) -> None:
    chain.login("servidor")
    for outer in ("www.gov.br", "WWW.GOV.BR."):  # as Chrome sends it, and in any spelling
        f = run(connect(chain, "www.gov.br"))
        hello_data(chain, f, outer, ech=True)
        sd = server_data(f, ("www.gov.br", 443))
        run(chain.hook(ServerConnectHook(sd)))
        assert not sd.server.error


def test_ech_without_an_outer_name_is_refused(chain: Chain) -> None:
    chain.login("servidor")
    f = run(connect(chain, "www.gov.br"))
    hello_data(chain, f, None, ech=True)
    run(chain.hook(ClientDisconnectedHook(f.client_conn)))
    assert chain.rows()[0]["rule"] == "tls.ech"


def test_a_justification_on_the_https_block_page_opens_its_own_tunnel(chain: Chain) -> None:
    """Art. 10 §1 over HTTPS: the page's justification posts to its own origin; from then on
    the tunnel's requests are decided one by one and reach the site, so the answer's link,
    on the same connection, opens it."""
    import json
    import time

    chain.at(time.time())
    chain.tctx.options.update(guarita_https_block_page=True)
    chain.login("servidor")
    f = run(connect(chain, "www.youtube.com"))
    hello_data(chain, f, "www.youtube.com")
    page = make_flow("https://www.youtube.com/watch", headers={"accept": "text/html"})
    page.client_conn = f.client_conn
    run(send(chain, page))
    text = page.response.get_text()
    assert '<form method="post" action="/justificar">' in text
    token = text.split('name="token" value="', 1)[1].split('"', 1)[0]
    form = make_flow("https://www.youtube.com/justificar", "POST", body=(
        f"host=www.youtube.com&token={token}&justificativa=aula+gravada+do+curso+de+SEI"
    ).encode())
    form.client_conn = f.client_conn
    run(send(chain, form))
    assert form.response.status_code == 200
    assert 'href="https://www.youtube.com/"' in form.response.get_text()
    again = make_flow("https://www.youtube.com/")
    again.client_conn = f.client_conn
    again.client_conn.tls, again.client_conn.sni = True, "www.youtube.com"
    run(send(chain, again))
    assert again.response.status_code == 200 and chain.upstream == ["GET www.youtube.com/"]
    assert again.metadata[VERDICT].decision.rule == "justified"
    data = server_data(f, ("www.youtube.com", 443))
    run(chain.hook(ServerConnectHook(data)))
    assert data.server.error is None  # the tunnel may reach the site now
    [j] = json.loads(chain.ws.run("justify", "list", "--format", "json", check=True).stdout)
    assert j["site"] == "youtube.com" and j["reason"] == "aula gravada do curso de SEI"


def test_a_tunnel_still_open_at_a_stop_is_recorded_once(chain: Chain) -> None:
    """mitmproxy may stop before it reports a client gone: the tunnel's record is written
    at `done`, before the audit writer closes, and never twice."""
    chain.login("servidor")
    f = run(connect(chain, "www.gov.br"))
    chain.tunnels.done()
    rows = chain.rows()
    assert [(r["method"], r["host"], r["status"], r["user"]) for r in rows] == [
        ("CONNECT", "www.gov.br", 200, "servidor")]
    run(chain.hook(ClientDisconnectedHook(f.client_conn)))  # reported after all
    assert len(chain.rows()) == 1
