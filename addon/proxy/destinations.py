"""The address actually connected to: a name that resolves to the proxy's own host is refused.

`enforce` refuses `localhost` and forbidden IP literals as spelled; a name in
DNS or /etc/hosts that points at 127.0.0.1 (or at a metadata service) only shows
itself when resolved. So every upstream connection to a name is resolved here,
once, in `server_connect`, and every address is checked against the policy's
forbidden networks. The connection then goes to exactly the addresses checked: a
DNS answer that changes between check and connect (rebinding) cannot slip through.

The pin holds the *answer*, not the address. `server.address` keeps the name, as
mitmproxy needs: it matches kept-alive requests to an open connection by address,
and counts at most five connections per address, so a connection renamed to its IP
was never reused and the sixth request to a name waited forever (and mitmproxy
refuses to rename an open connection back). mitmproxy opens each server connection
in a task of its own, running this hook first, so the checked answer is kept in a
context variable of that task, and the event loop's `getaddrinfo` (wrapped once)
gives it back to that task's connect instead of asking the resolver again. Every
other lookup on the loop goes to the resolver as before.

In upstream-proxy and reverse-proxy modes the address connected to is the
operator's own configuration, and this add-on stands aside.
"""

from __future__ import annotations

import asyncio
import contextvars
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mitmproxy import ctx
from mitmproxy.proxy import mode_specs, server_hooks

from addon.policy.destinations import FORBIDDEN, forbidden_address
from addon.policy.hosts import is_ip
from addon.proxy.metrics import Metrics
from addon.proxy.reload import Reload
from addon.proxy.verdict import ConnectionNotes

log = logging.getLogger("guarita")
# modes whose upstream address is the operator's configuration, not a client's choice
ADMIN_CHOSEN = (mode_specs.UpstreamMode, mode_specs.ReverseMode)
Resolver = Callable[[str, int], Awaitable[list[str]]]
AddrInfo = tuple[Any, ...]


async def resolve(host: str, port: int) -> list[str]:
    """The addresses a name resolves to, in the order the system gives them."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class Pin:
    """The checked answer for one name and port, for the connect that follows the check."""

    host: str
    port: int
    addresses: tuple[str, ...]

    def infos(self, family: int, type_: int, proto: int) -> list[AddrInfo]:
        """The answer in `getaddrinfo`'s shape, limited to the family asked for."""
        out: list[AddrInfo] = []
        for a in self.addresses:
            ip = ipaddress.ip_address(a.split("%", 1)[0])
            fam = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
            if family not in (0, fam):
                continue
            sockaddr: tuple[Any, ...] = (a, self.port) if fam == socket.AF_INET else (a, self.port, 0, 0)
            out.append((fam, type_ or socket.SOCK_STREAM, proto or socket.IPPROTO_TCP, "",
                        sockaddr))
        if not out:
            raise socket.gaierror(socket.EAI_ADDRFAMILY, f"{self.host}: no address of that family")
        return out


PINNED: contextvars.ContextVar[Pin | None] = contextvars.ContextVar("guarita_pin", default=None)
_ORIGINAL = "_guarita_original"


def install_pin(loop: asyncio.AbstractEventLoop) -> None:
    """Wrap the loop's `getaddrinfo` once so that a task with a Pin connects to it."""
    if hasattr(loop.getaddrinfo, _ORIGINAL):
        return
    original = loop.getaddrinfo

    async def getaddrinfo(host: Any, port: Any, *, family: int = 0, type: int = 0,  # noqa: A002
                          proto: int = 0, flags: int = 0) -> list[AddrInfo]:
        pin = PINNED.get()
        if pin is not None and host == pin.host and port == pin.port:
            return pin.infos(family, type, proto)
        return await original(host, port, family=family, type=type, proto=proto, flags=flags)

    setattr(getaddrinfo, _ORIGINAL, original)
    loop.getaddrinfo = getaddrinfo  # type: ignore[method-assign]


def uninstall_pin(loop: asyncio.AbstractEventLoop) -> None:
    original = getattr(loop.getaddrinfo, _ORIGINAL, None)
    if original is not None:
        loop.getaddrinfo = original  # type: ignore[method-assign]


class Destinations:
    def __init__(self, reload: Reload, metrics: Metrics, notes: ConnectionNotes,
                 resolver: Resolver = resolve) -> None:
        self.reload = reload
        self.metrics = metrics
        self.notes = notes
        self.resolver = resolver
        self.allow_localhost = False
        self._loop: asyncio.AbstractEventLoop | None = None

    def configure(self, updated: set[str]) -> None:
        if "guarita_allow_localhost" in updated:
            self.allow_localhost = bool(ctx.options.guarita_allow_localhost)

    async def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        server = data.server
        if (server.via is not None or server.error or server.address is None
                or isinstance(data.client.proxy_mode, ADMIN_CHOSEN)):
            return
        host, port = server.address
        networks = self.reload.runtime.policy.forbidden_networks
        try:
            addresses = [host] if is_ip(host) else await self.resolver(host, port)
        except OSError as exc:
            server.error = f"DNS: {host}: {exc.strerror or exc}"
            return
        except Exception as exc:  # noqa: BLE001 - fail closed: no check, no connection
            self.metrics.errors.labels("destinations").inc()
            server.error = f"guarita: {host}: resolution failed: {exc}"
            return
        bad = [a for a in addresses if forbidden_address(a, networks, self.allow_localhost)]
        if bad or not addresses:
            self.metrics.errors.labels("forbidden_destination").inc()
            log.warning("guarita: %s resolves to %s, a forbidden address: refused", host,
                        bad[0] if bad else "nothing")
            self.notes.refused[data.client.id] = FORBIDDEN
            server.error = f"guarita: destino proibido ({host})"
            return
        if not is_ip(host):
            loop = asyncio.get_running_loop()
            if loop is not self._loop:
                install_pin(loop)
                self._loop = loop
            PINNED.set(Pin(host, port, tuple(addresses)))

    def client_disconnected(self, client: Any) -> None:
        self.notes.take(client.id)

    def done(self) -> None:
        if self._loop is not None:
            uninstall_pin(self._loop)
            self._loop = None
