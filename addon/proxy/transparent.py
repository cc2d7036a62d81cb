"""Connections the gateway redirected (`guarita run --transparent-port`): machines never
configured to use the proxy, caught by an nftables/iptables redirect (Art. 18 I, X).

Such a client sends no CONNECT and no proxy credentials: it believes it talks to the
site. So it is decided on what it names — the Host header of plain HTTP, the SNI of
its TLS ClientHello — and identified by its machine's login session only (a 407 would
mean nothing to a browser that knows of no proxy). The address it was going to is
never used: the connection goes to the name decided on, resolved and checked by
`destinations` like any other, so a Host header or SNI cannot name an allowed site
while the packets go to a blocked one. Without a name (HTTP/1.0 with no Host, TLS with
no SNI) the destination address is all there is, and it is decided as the IP-literal
host it is.

A machine with no session gets level 0: the explanation page over HTTP, a refused
handshake over TLS (the block page too with `--https-block-page`, for other refusals,
to machines that trust the CA). Every record of this listener says `transparent` as
its identity source. One TLS record per connection, written by `tunnels` when it
closes, with the method `TLS` (there was no CONNECT).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable
from typing import Any

from mitmproxy import ctx, http, tls
from mitmproxy.net.http import url
from mitmproxy.proxy import mode_specs

from addon.audit.record import new_ref
from addon.errors import HostError
from addon.policy.destinations import FORBIDDEN, forbidden_host
from addon.policy.hosts import normalize_host
from addon.policy.model import Decision
from addon.proxy.identify import Identify, client_ip
from addon.proxy.metrics import Metrics
from addon.proxy.reload import Reload
from addon.proxy.tunnels import Tunnel, Tunnels
from addon.proxy.verdict import INTERNAL_ERROR, TRANSPARENT, Identified, Verdict, refusal

log = logging.getLogger("guarita")

NO_NAME = refusal("transparent.no_sni", "Conexão TLS sem nome do site (SNI): não há como "
                                        "decidir, conexão recusada")


def is_transparent(client: Any) -> bool:
    return isinstance(client.proxy_mode, mode_specs.TransparentMode)


class Transparent:
    """Runs before `identify` (HTTP) and before `tunnels` (TLS), on redirected clients only."""

    def __init__(self, reload: Reload, metrics: Metrics, identify: Identify,
                 tunnels: Tunnels) -> None:
        self.reload = reload
        self.metrics = metrics
        self.identify = identify
        self.tunnels = tunnels
        self.clock = time.time
        self.allow_localhost = False
        self.https_block_page = False

    def configure(self, updated: set[str]) -> None:
        if "guarita_allow_localhost" in updated:
            self.allow_localhost = bool(ctx.options.guarita_allow_localhost)
        if "guarita_https_block_page" in updated:
            self.https_block_page = bool(ctx.options.guarita_https_block_page)

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if not is_transparent(flow.client_conn) or flow.response or flow.error:
            return
        flow.metadata[TRANSPARENT] = True
        req = flow.request
        req.headers.pop("proxy-authorization", None)  # no proxy here: never forwarded
        name = req.host_header
        if not name:
            return  # decided on the destination address, an IP literal
        try:
            host, _ = url.parse_authority(name, check=True)
        except ValueError:
            host = name  # enforce refuses it as malformed, naming it
        # the name decides and is connected to; the port stays the redirected one
        req.data.host = host

    def tls_clienthello(self, data: tls.ClientHelloData) -> Awaitable[None] | None:
        client = data.context.client
        if not is_transparent(client) or client.id in self.tunnels.tunnels:
            return None  # a proxy client's TLS, or TLS inside a decided connection
        return self._guarded(data)

    async def _guarded(self, data: tls.ClientHelloData) -> None:
        client = data.context.client
        try:
            await self._decide(data)
        except Exception as exc:  # noqa: BLE001 - fail closed
            self.metrics.errors.labels("transparent").inc()
            log.error("guarita: refusing a redirected TLS connection after an internal "
                      "error: %s: %s", type(exc).__name__, exc)
            address = data.context.server.address or ("-", 443)
            self._register(data, Verdict(INTERNAL_ERROR, None, new_ref(), self.clock(),
                                         client_ip(client.peername[0]), str(address[0]), 503))

    async def _decide(self, data: tls.ClientHelloData) -> None:
        client, server = data.context.client, data.context.server
        now = self.clock()
        ip = client_ip(client.peername[0])
        assert server.address is not None  # mitmproxy set the original destination
        sni = data.client_hello.sni
        found = self.identify.lookup_session(ip, now)
        if not isinstance(found, Identified):
            found = await found
        identity = found.identity

        def verdict(d: Decision, host: str) -> Verdict:
            return Verdict(d, identity, new_ref(), now, ip, host, 0 if d.allowed else 403)

        try:
            host = normalize_host(sni or str(server.address[0]))
        except HostError as exc:
            self._register(data, verdict(refusal("request.malformed", f"SNI inválido: {exc}"),
                                         str(sni)))
            return
        rt = self.reload.runtime
        if forbidden_host(host, rt.policy.forbidden_networks, self.allow_localhost):
            self._register(data, verdict(FORBIDDEN, host))
        elif found.refusal is not None:
            self._register(data, verdict(found.refusal, host))
        elif not sni:
            self._register(data, verdict(NO_NAME, host))
        else:
            assert identity is not None
            v = verdict(rt.decide(host, identity, now, ip), host)
            if v.allowed:  # connect to the name decided on, not to where the packets went
                server.address = (host, server.address[1])
            self._register(data, v)

    def _register(self, data: tls.ClientHelloData, v: Verdict) -> None:
        """Hand the decided connection to `tunnels`, which runs next and keeps it."""
        client = data.context.client
        port = data.context.server.address[1] if data.context.server.address else 443
        page = (not v.allowed and self.https_block_page
                and v.decision.rule != "level0.no_user" and v.status == 403)
        if page:
            self.tunnels.notes.pages[client.id] = v
        self.tunnels.tunnels[client.id] = Tunnel(v, v.decision, v.host, port,
                                                 refused=not v.allowed, page=page,
                                                 transparent=True)
