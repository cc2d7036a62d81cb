"""The address actually connected to: a name that resolves to the proxy's own host is refused.

`enforce` refuses `localhost` and forbidden IP literals as spelled; a name in
DNS or /etc/hosts that points at 127.0.0.1 (or at a metadata service) only shows
itself when resolved. So every upstream connection is resolved here, in
`server_connect`, every address is checked against the policy's forbidden
networks, and the connection is pinned to the checked address: mitmproxy then
connects to exactly that address, so a DNS answer that changes between check
and connect (rebinding) cannot slip through. The name is put back once
connected, so TLS (SNI) and connection reuse see the name as before.

In upstream-proxy and reverse-proxy modes the address connected to is the
operator's own configuration, and this add-on stands aside.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from mitmproxy import ctx
from mitmproxy.proxy import mode_specs, server_hooks

from addon.policy.destinations import forbidden_address
from addon.policy.hosts import is_ip
from addon.proxy.enforce import FORBIDDEN
from addon.proxy.metrics import Metrics
from addon.proxy.reload import Reload
from addon.proxy.verdict import ConnectionNotes

log = logging.getLogger("guarita")
# modes whose upstream address is the operator's configuration, not a client's choice
ADMIN_CHOSEN = (mode_specs.UpstreamMode, mode_specs.ReverseMode)
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def resolve(host: str, port: int) -> list[str]:
    """The addresses a name resolves to, in the order the system gives them."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class Destinations:
    def __init__(self, reload: Reload, metrics: Metrics, notes: ConnectionNotes,
                 resolver: Resolver = resolve) -> None:
        self.reload = reload
        self.metrics = metrics
        self.notes = notes
        self.resolver = resolver
        self._names: dict[str, str] = {}  # server connection id -> the name it was pinned from

    async def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        server = data.server
        if (server.via is not None or server.error or server.address is None
                or isinstance(data.client.proxy_mode, ADMIN_CHOSEN)):
            return
        host, port = server.address
        networks = self.reload.runtime.policy.forbidden_networks
        allow_local = bool(ctx.options.guarita_allow_localhost)
        try:
            addresses = [host] if is_ip(host) else await self.resolver(host, port)
        except OSError as exc:
            server.error = f"DNS: {host}: {exc.strerror or exc}"
            return
        except Exception as exc:  # noqa: BLE001 - fail closed: no check, no connection
            self.metrics.errors.labels("destinations").inc()
            server.error = f"guarita: {host}: resolution failed: {exc}"
            return
        bad = [a for a in addresses if forbidden_address(a, networks, allow_local)]
        if bad or not addresses:
            self.metrics.errors.labels("forbidden_destination").inc()
            log.warning("guarita: %s resolves to %s, a forbidden address: refused", host,
                        bad[0] if bad else "nothing")
            self.notes.refused[data.client.id] = FORBIDDEN
            server.error = f"guarita: destino proibido ({host})"
            return
        if addresses[0] != host:
            self._names[server.id] = host
            server.address = (addresses[0], port)

    def server_connected(self, data: server_hooks.ServerConnectionHookData) -> None:
        name = self._names.pop(data.server.id, None)
        if name is not None and data.server.address is not None:
            data.server.address = (name, data.server.address[1])

    def server_connect_error(self, data: server_hooks.ServerConnectionHookData) -> None:
        self.server_connected(data)

    def server_disconnected(self, data: server_hooks.ServerConnectionHookData) -> None:
        self._names.pop(data.server.id, None)

    def client_disconnected(self, client: Any) -> None:
        self.notes.take(client.id)
