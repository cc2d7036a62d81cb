"""transparent: redirected clients decided by the name they send, identified by their session."""

from __future__ import annotations

import asyncio
import base64

from mitmproxy import connection, http, tls
from mitmproxy.proxy import context, mode_specs
from mitmproxy.proxy.layers.tls import TlsClienthelloHook, parse_client_hello
from mitmproxy.proxy.server_hooks import ClientDisconnectedHook, ServerConnectHook
from mitmproxy.test import tflow

from addon.proxy.verdict import VERDICT
from tests.proxy.conftest import EVENING, Chain, make_flow, send, server_data
from tests.support import hello as hellos

TRANSPARENT = mode_specs.ProxyMode.parse("transparent")
ORIGINAL = ("203.0.113.10", 80)  # where the client's packets were going (www.gov.br's address)


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.get_event_loop().run_until_complete(coro)


def redirected(host_header: str | None = "www.gov.br", path: str = "/", ip: str = "10.0.0.5",
               headers: dict[str, str] | None = None) -> http.HTTPFlow:
    """A flow as mitmproxy's transparent mode makes it: the host is the original address."""
    f = make_flow(f"http://{ORIGINAL[0]}{path}", ip=ip, headers=headers)
    del f.request.headers["host"]
    if host_header is not None:
        f.request.headers["host"] = host_header
    f.client_conn.proxy_mode = TRANSPARENT
    return f


def hello(chain: Chain, sni: str | None, ip: str = "10.0.0.5", ech: bool = False,
          original: tuple[str, int] = ("203.0.113.11", 443)
          ) -> tuple[tls.ClientHelloData, connection.Client]:
    f = tflow.tflow()
    client = f.client_conn
    client.peername = (ip, 40000)
    client.proxy_mode = TRANSPARENT
    ctx = context.Context(client, chain.tctx.options)
    ctx.server = connection.Server(address=original)
    parsed = parse_client_hello(hellos.client_hello(sni, ech))
    assert parsed is not None
    data = tls.ClientHelloData(ctx, parsed)
    run(chain.hook(TlsClienthelloHook(data)))
    return data, client


def closed(chain: Chain, client: connection.Client) -> dict:  # type: ignore[type-arg]
    run(chain.hook(ClientDisconnectedHook(client)))
    rows = chain.rows()
    assert len(rows) == 1
    return dict(rows[0])


def test_plain_http_is_decided_and_connected_by_its_host_header(transparent_chain: Chain) -> None:
    chain = transparent_chain
    chain.login("servidor")
    f = run(send(chain, redirected()))
    assert f.response is not None and f.response.status_code == 200
    # the connection goes to the name decided on, not to the address the packets had
    assert chain.upstream == ["GET www.gov.br/"]
    assert (f.request.host, f.request.port) == ("www.gov.br", 80)
    r = dict(chain.rows()[0])
    assert (r["host"], r["user"], r["source"], r["decision"]) == (
        "www.gov.br", "servidor", "transparent", "allow")


def test_a_host_header_naming_a_blocked_site_is_blocked_whatever_the_address(
        transparent_chain: Chain) -> None:
    chain = transparent_chain
    chain.login("servidor")
    f = run(send(chain, redirected("www.youtube.com")))  # the packets went to gov.br's address
    assert f.response is not None and f.response.status_code == 403
    assert chain.upstream == []
    assert f.metadata[VERDICT].decision.rule == "category.blocked"


def test_a_machine_with_no_session_gets_the_level_0_page_never_a_407(
        transparent_chain: Chain) -> None:
    chain = transparent_chain
    f = run(send(chain, redirected(headers={"accept": "text/html"})))
    assert f.response is not None and f.response.status_code == 403
    assert "proxy-authenticate" not in f.response.headers
    assert "Nenhum usuário logado" in f.response.get_text()
    r = dict(chain.rows()[0])
    assert (r["rule"], r["source"], r["user"]) == ("level0.no_user", "transparent", None)


def test_proxy_credentials_from_a_redirected_client_count_for_nothing_and_go_nowhere(
        transparent_chain: Chain) -> None:
    chain = transparent_chain
    token = base64.b64encode(b"membro:membro").decode()
    f = run(send(chain, redirected(headers={"proxy-authorization": f"Basic {token}"})))
    assert f.metadata[VERDICT].decision.rule == "level0.no_user"
    assert "proxy-authorization" not in f.request.headers


def test_without_a_host_header_the_address_is_decided_as_an_ip_literal(
        transparent_chain: Chain) -> None:
    chain = transparent_chain
    chain.login("servidor")
    f = run(send(chain, redirected(None)))
    assert f.metadata[VERDICT].decision.rule == "ip_literal.unlisted"
    assert chain.upstream == []


def test_a_malformed_host_header_is_a_400(transparent_chain: Chain) -> None:
    chain = transparent_chain
    chain.login("servidor")
    f = run(send(chain, redirected("www.gov.br:notaport")))
    assert f.response is not None and f.response.status_code == 400


def test_allowed_tls_passes_through_to_the_name_of_its_sni(transparent_chain: Chain) -> None:
    chain = transparent_chain
    chain.login("servidor")
    data, client = hello(chain, "www.gov.br")  # sent to youtube's address: the SNI decides
    assert data.ignore_connection  # undecrypted
    assert data.context.server.address == ("www.gov.br", 443)
    connect = server_data(tflow.tflow(), ("www.gov.br", 443))
    connect.client = client
    run(chain.hook(ServerConnectHook(connect)))
    assert connect.server.error is None
    r = closed(chain, client)
    assert (r["method"], r["host"], r["decision"], r["source"], r["user"], r["status"]) == (
        "TLS", "www.gov.br", "allow", "transparent", "servidor", 200)


def test_blocked_tls_is_a_refused_handshake_and_one_record(transparent_chain: Chain) -> None:
    chain = transparent_chain
    chain.login("servidor")
    data, client = hello(chain, "www.youtube.com", original=("203.0.113.10", 443))
    assert data.ignore_connection
    assert data.context.server.address == ("203.0.113.10", 443)  # never pointed at the site
    connect = server_data(tflow.tflow(), ("203.0.113.10", 443))
    connect.client = client
    run(chain.hook(ServerConnectHook(connect)))
    assert connect.server.error  # nothing reaches the site
    r = closed(chain, client)
    assert (r["method"], r["host"], r["rule"], r["status"]) == (
        "TLS", "www.youtube.com", "category.blocked", 403)


def test_tls_with_no_sni_or_no_session_is_refused(transparent_chain: Chain) -> None:
    chain = transparent_chain
    chain.login("servidor")
    data, client = hello(chain, None)
    assert data.ignore_connection
    assert closed(chain, client)["rule"] == "transparent.no_sni"
    data, client = hello(chain, "www.gov.br", ip="10.0.0.99")  # nobody logged in there
    run(chain.hook(ClientDisconnectedHook(client)))
    assert dict(chain.rows()[-1])["rule"] == "level0.no_user"
    assert dict(chain.rows()[-1])["source"] == "transparent"


def test_with_the_https_block_page_a_refused_site_is_decrypted_for_its_page(
        transparent_chain: Chain) -> None:
    chain = transparent_chain
    chain.tctx.options.update(guarita_https_block_page=True)
    chain.login("servidor")
    data, client = hello(chain, "www.youtube.com")
    assert not data.ignore_connection  # decrypted with the proxy's CA, to show the page
    assert client.id in chain.tunnels.notes.pages
    # nobody's machine: no page, a refused handshake (it has no one to show it to)
    data, _ = hello(chain, "www.gov.br", ip="10.0.0.99")
    assert data.ignore_connection


def test_evening_opens_what_business_hours_close_for_redirected_clients(
        transparent_chain: Chain) -> None:
    chain = transparent_chain
    chain.login("servidor")
    chain.at(EVENING)
    f = run(send(chain, redirected("www.facebook.com")))
    assert f.metadata[VERDICT].allowed  # social networks outside business hours (level 2)


def test_the_proxy_listener_is_untouched_by_the_transparent_add_on(
        transparent_chain: Chain) -> None:
    chain = transparent_chain
    chain.login("servidor")
    f = run(send(chain, make_flow("http://www.gov.br/")))  # a regular proxy client
    assert f.response is not None and f.response.status_code == 200
    assert dict(chain.rows()[0])["source"] == "session"
