"""destinations: a name is refused when the address it resolves to is the proxy's own host."""

from __future__ import annotations

import asyncio
import contextvars
import socket

import pytest
from mitmproxy.proxy import mode_specs
from mitmproxy.proxy.layers.http import HttpErrorHook
from mitmproxy.proxy.server_hooks import (
    ClientDisconnectedHook,
    ServerConnectErrorHook,
    ServerConnectHook,
)

from addon.proxy.destinations import PINNED, Pin, resolve
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

    async def check_then_connect() -> list[str]:
        """As mitmproxy does, in one task: the hook, then the connect's own lookup."""
        await chain.hook(ServerConnectHook(sd))
        chain.dns["ok.example"] = ["127.0.0.1"]  # DNS rebinding after the check
        infos = await asyncio.get_running_loop().getaddrinfo("ok.example", 443,
                                                             type=socket.SOCK_STREAM)
        return [i[4][0] for i in infos]

    assert run(check_then_connect()) == ["203.0.113.7", "203.0.113.8"]  # no second lookup
    # the connection keeps its name: mitmproxy reuses it for the next request to that name,
    # sends the name as SNI, and counts its connections per name
    assert not sd.server.error and sd.server.address == ("ok.example", 443)


def test_the_pin_answers_only_its_own_task_name_and_port(chain: Chain) -> None:
    chain.dns["ok.example"] = ["203.0.113.7"]
    loop = asyncio.get_event_loop()
    asked: list[tuple[object, object]] = []

    async def system(host: object, port: object, **kw: object) -> list[tuple]:
        asked.append((host, port))
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.99", port))]

    loop.getaddrinfo = system  # type: ignore[method-assign]  # stands for the system resolver
    sd = server_data(make_flow(), ("ok.example", 80))

    async def pinned() -> tuple[str, str, str]:
        await chain.hook(ServerConnectHook(sd))
        same = (await loop.getaddrinfo("ok.example", 80))[0][4][0]
        other_port = (await loop.getaddrinfo("ok.example", 81))[0][4][0]
        other_task = await asyncio.create_task(  # a task made before the pin would not see it
            asyncio.wait_for(loop.getaddrinfo("ok.example", 80), 5), context=contextvars.Context())
        return same, other_port, other_task[0][4][0]

    assert run(pinned()) == ("203.0.113.7", "192.0.2.99", "192.0.2.99")
    assert asked == [("ok.example", 81), ("ok.example", 80)]
    chain.destinations.done()  # the loop gets its own getaddrinfo back
    assert loop.getaddrinfo is system


def test_a_pin_gives_the_family_asked_for() -> None:
    pin = Pin("dual.example", 443, ("203.0.113.7", "2001:db8::7"))
    assert [i[4] for i in pin.infos(0, 0, 0)] == [("203.0.113.7", 443), ("2001:db8::7", 443, 0, 0)]
    assert [i[0] for i in pin.infos(socket.AF_INET6, socket.SOCK_STREAM, 0)] == [socket.AF_INET6]
    with pytest.raises(socket.gaierror):
        Pin("v4.example", 80, ("203.0.113.7",)).infos(socket.AF_INET6, 0, 0)


def test_ip_literals_are_checked_as_spelled_and_never_pinned(chain: Chain) -> None:
    sd = server_data(make_flow(), ("203.0.113.9", 80))

    async def hook() -> object:
        await chain.hook(ServerConnectHook(sd))
        return PINNED.get()

    assert run(hook()) is None and not sd.server.error
    bad = server_data(make_flow(), ("127.0.0.1", 9464))
    run(chain.hook(ServerConnectHook(bad)))
    assert bad.server.error and "proibido" in bad.server.error


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
