"""destinations: a name is refused when the address it resolves to is the proxy's own host."""

from __future__ import annotations

import asyncio
import socket

import pytest
from mitmproxy.proxy import mode_specs
from mitmproxy.proxy.layers.http import HttpErrorHook
from mitmproxy.proxy.server_hooks import (
    ClientDisconnectedHook,
    ServerConnectedHook,
    ServerConnectErrorHook,
    ServerConnectHook,
)

from addon.proxy.destinations import resolve
from tests.proxy.conftest import Chain, connect, make_flow, send, server_data


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.get_event_loop().run_until_complete(coro)


def test_hole2_a_name_resolving_to_loopback_is_refused_and_recorded(chain: Chain) -> None:
    chain.login("membro")
    chain.dns["intranet-trick.example"] = ["127.0.0.1"]
    f = make_flow("http://intranet-trick.example:9464/metrics")
    run(send(chain, f))  # allowed by category: nothing about the name says loopback
    # mitmproxy now opens the upstream connection
    sd = server_data(f, ("intranet-trick.example", 9464))
    run(chain.hook(ServerConnectHook(sd)))
    assert sd.server.error and "proibido" in sd.server.error
    f.response, f.metadata["guarita.recorded"] = None, False
    f.error = __import__("mitmproxy").flow.Error(sd.server.error)
    run(chain.hook(HttpErrorHook(f)))
    row = chain.rows()[-1]
    assert (row["decision"], row["rule"], row["status"]) == ("block", "destination.forbidden", 502)


def test_hole2_every_address_is_checked_and_the_checked_one_is_used(chain: Chain) -> None:
    chain.dns["mixed.example"] = ["203.0.113.5", "169.254.169.254"]
    f = make_flow("http://mixed.example/")
    sd = server_data(f, ("mixed.example", 80))
    run(chain.hook(ServerConnectHook(sd)))
    assert sd.server.error  # one forbidden answer is enough
    chain.dns["ok.example"] = ["203.0.113.7", "203.0.113.8"]
    sd = server_data(f, ("ok.example", 443))
    run(chain.hook(ServerConnectHook(sd)))
    assert not sd.server.error and sd.server.address == ("203.0.113.7", 443)  # pinned
    chain.dns["ok.example"] = ["127.0.0.1"]  # DNS rebinding after the check: no second lookup
    run(chain.hook(ServerConnectedHook(sd)))
    assert sd.server.address == ("ok.example", 443)  # the name again, for SNI and reuse


def test_a_connect_target_that_resolves_to_loopback_is_recorded_as_forbidden(chain: Chain) -> None:
    chain.login("membro")
    chain.dns["sneaky.example"] = ["::1"]
    f = run(connect(chain, "sneaky.example"))
    sd = server_data(f, ("sneaky.example", 443))
    run(chain.hook(ServerConnectHook(sd)))
    run(chain.hook(ServerConnectErrorHook(sd)))
    run(chain.hook(ClientDisconnectedHook(f.client_conn)))
    row = chain.rows()[-1]
    assert (row["method"], row["rule"], row["status"]) == ("CONNECT", "destination.forbidden", 403)


def test_unresolvable_names_fail_with_the_dns_error(chain: Chain) -> None:
    sd = server_data(make_flow(), ("nowhere.example", 80))
    run(chain.hook(ServerConnectHook(sd)))
    assert sd.server.error.startswith("DNS: nowhere.example")


def test_allow_localhost_lets_loopback_through_but_not_link_local(chain: Chain) -> None:
    chain.tctx.options.update(guarita_allow_localhost=True)
    chain.dns.update({"lo.example": ["127.0.0.1"], "meta.example": ["169.254.169.254"]})
    lo = server_data(make_flow(), ("lo.example", 80))
    run(chain.hook(ServerConnectHook(lo)))
    meta = server_data(make_flow(), ("meta.example", 80))
    run(chain.hook(ServerConnectHook(meta)))
    assert not lo.server.error and meta.server.error


def test_upstream_mode_stands_aside(chain: Chain) -> None:
    f = make_flow()
    f.client_conn.proxy_mode = mode_specs.ProxyMode.parse("upstream:http://127.0.0.1:3128")
    sd = server_data(f, ("127.0.0.1", 3128))  # the operator's next proxy
    run(chain.hook(ServerConnectHook(sd)))
    assert not sd.server.error and sd.server.address == ("127.0.0.1", 3128)


def test_real_resolution_of_this_machines_own_name(chain: Chain) -> None:
    """The issue's case: a name in /etc/hosts pointing at 127.0.0.1 (here the host name)."""
    name = socket.gethostname()
    try:
        addresses = run(resolve(name, 80))
    except OSError:
        pytest.skip(f"{name} does not resolve here")
    if not any(a.startswith("127.") or a == "::1" for a in addresses):
        pytest.skip(f"{name} does not resolve to loopback here ({addresses})")
    chain.destinations.resolver = resolve  # the system resolver: /etc/hosts, no network
    sd = server_data(make_flow(), (name, 9464))
    run(chain.hook(ServerConnectHook(sd)))
    assert sd.server.error and "proibido" in sd.server.error
