"""CONNECT tunnels: decided on the target (`enforce`), then on the TLS SNI, recorded when closed.

A tunnel allowed on its CONNECT target is checked again on the ClientHello's
SNI: a different, blocked name (`--connect-to`, domain fronting) kills it
before any upstream connection (the connection strategy is lazy, so nothing
has reached the upstream yet). A tunnel that carries neither TLS nor HTTP (SSH
on 443) is closed. Allowed TLS passes through undecrypted unless interception
is on; its bytes are counted by wrapping the tunnel's next layer. One record per
tunnel, written when the client goes away.

With `guarita_https_block_page`, a blocked CONNECT is accepted and only that tunnel is
decrypted (a certificate from the proxy's CA) to show the block page; it never connects
upstream, and it is recorded once, as the blocked tunnel it is.

Every upstream connection of a client whose tunnel was refused is refused in
`server_connect`, and TLS that did not come through a decided CONNECT
(transparent mode) is never passed through blind.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from mitmproxy import connection, ctx, http, tcp, tls
from mitmproxy.proxy import layer, server_hooks
from mitmproxy.proxy.layers.tcp import TCPLayer

from addon.audit.record import record
from addon.errors import HostError
from addon.policy.destinations import FORBIDDEN, forbidden_host
from addon.policy.hosts import normalize_host
from addon.policy.model import Decision
from addon.proxy.auditlog import AuditLog
from addon.proxy.bytecount import ByteCounter, CountingRelay
from addon.proxy.metrics import Metrics
from addon.proxy.reload import Reload
from addon.proxy.upstream import error_decision
from addon.proxy.verdict import (
    INTERNAL_ERROR,
    VERDICT,
    ConnectionNotes,
    Verdict,
    refusal,
    seen_transparently,
)

log = logging.getLogger("guarita")

NOT_TLS = "tunnel.not_tls"
ECH_EXTENSION = 0xFE0D  # encrypted_client_hello (TLS Encrypted Client Hello, draft-ietf-tls-esni)
# Art. 10 VII: a hello that hides the site it asks for behind another name
ECH_HIDDEN = refusal("tls.ech", "Encrypted Client Hello (ECH) esconde o site de destino atrás "
                                "de outro nome: conexão não permitida (Art. 10 VII)")


def _hides_its_site(hello: tls.ClientHello, connect_host: str) -> bool:
    """ECH whose outer name is not the CONNECT's: the real site is inside, encrypted (the
    provider's public name, `cloudflare-ech.com`, outside). Chrome's GREASE ECH names the
    real host outside and passes."""
    if not any(kind == ECH_EXTENSION for kind, _ in hello.extensions):
        return False
    try:
        return not hello.sni or normalize_host(hello.sni) != connect_host
    except HostError:
        return True


@dataclass
class Tunnel:
    """A CONNECT tunnel in progress; its decision may still turn into a refusal (SNI)."""

    verdict: Verdict
    decision: Decision
    host: str
    port: int
    refused: bool = False
    counter: ByteCounter | CountingRelay | None = None
    page: bool = False  # refused, accepted only to show the block page over TLS
    failed: bool = False  # allowed, but the site could not be reached (decision `error`)
    transparent: bool = False  # redirected TLS, decided on its SNI (`transparent`)


class Tunnels:
    def __init__(self, reload: Reload, metrics: Metrics, audit: AuditLog,
                 notes: ConnectionNotes) -> None:
        self.reload = reload
        self.metrics = metrics
        self.audit = audit
        self.notes = notes
        self.tunnels: dict[str, Tunnel] = {}
        self.undecided: set[str] = set()  # clients whose TLS came without a decided CONNECT

    def load(self, loader: Any) -> None:
        loader.add_option(
            "guarita_intercept", bool, False,
            "Decrypt allowed HTTPS (clients must trust the proxy's CA): every request inside "
            "is then decided on its own. Off: TLS passes through undecrypted, decided on the "
            "CONNECT target and the TLS SNI.",
        )

    def http_connect(self, flow: http.HTTPFlow) -> None:
        v = flow.metadata.get(VERDICT)
        if flow.response is not None or not isinstance(v, Verdict):
            return
        if v.allowed:
            self.tunnels[flow.client_conn.id] = Tunnel(v, v.decision, v.host, flow.request.port)
        elif self.notes.pages.get(flow.client_conn.id) is v:
            self.tunnels[flow.client_conn.id] = Tunnel(v, v.decision, v.host, flow.request.port,
                                                       refused=True, page=True)

    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        tunnel = self.tunnels.get(data.context.client.id)
        if tunnel is None:
            # TLS that did not come through a decided CONNECT: nothing vouches for it
            self.undecided.add(data.context.client.id)
            data.ignore_connection = True
            return
        if tunnel.page:
            # decrypted with a certificate from the proxy's CA, never connected upstream:
            # the only thing inside is the block page
            data.ignore_connection = False
            data.establish_server_tls_first = False
            return
        try:
            hello = data.client_hello
            sni = hello.sni
            if sni:
                self._check_sni(tunnel, sni)
            if not tunnel.refused and _hides_its_site(hello, tunnel.verdict.host):
                self._refuse(tunnel, ECH_HIDDEN)
        except Exception as exc:  # noqa: BLE001 - fail closed
            self.metrics.errors.labels("tls_clienthello").inc()
            log.error("guarita: closing a tunnel after an internal error: %s", exc)
            self._refuse(tunnel, INTERNAL_ERROR)
        data.ignore_connection = tunnel.refused or not ctx.options.guarita_intercept

    def _check_sni(self, tunnel: Tunnel, sni: str) -> None:
        try:
            host = normalize_host(sni)
        except HostError as exc:
            self._refuse(tunnel, refusal("request.malformed", f"SNI inválido: {exc}"), sni)
            return
        if host == tunnel.host:
            return
        rt = self.reload.runtime
        if forbidden_host(host, rt.policy.forbidden_networks,
                          bool(ctx.options.guarita_allow_localhost)):
            self._refuse(tunnel, FORBIDDEN, host)
            return
        v = tunnel.verdict
        assert v.identity is not None
        d = rt.decide(host, v.identity, time.time(), v.client_ip)
        if not d.allowed:
            self._refuse(tunnel, d, host)

    def _refuse(self, tunnel: Tunnel, d: Decision, host: str | None = None) -> None:
        tunnel.refused = True
        tunnel.decision = d
        if host:
            tunnel.host = host

    def next_layer(self, nextlayer: layer.NextLayer) -> None:
        """Count a decided tunnel's bytes (runs after mitmproxy's own NextLayer chose)."""
        tunnel = self.tunnels.get(nextlayer.context.client.id)
        chosen = nextlayer.layer
        if tunnel is None or tunnel.counter is not None or chosen is None:
            return
        if type(chosen) is TCPLayer and chosen.flow is None:  # pass-through: count as it relays
            relay = CountingRelay(nextlayer.context)
            tunnel.counter = relay
            nextlayer.layer = relay
        else:
            tunnel.counter = ByteCounter(chosen, nextlayer.context.client)
            nextlayer.layer = tunnel.counter  # type: ignore[assignment]

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        tunnel = self.tunnels.get(data.client.id)
        if data.client.id in self.notes.opened:
            return  # a justification opened it: each request inside was decided (`enforce`)
        if (tunnel is not None and tunnel.refused) or data.client.id in self.undecided:
            data.server.error = "guarita: blocked by policy"

    def server_connect_error(self, data: server_hooks.ServerConnectionHookData) -> None:
        """An allowed tunnel whose site failed is recorded as an upstream error."""
        tunnel = self.tunnels.get(data.client.id)
        if tunnel is not None and not tunnel.refused and not tunnel.failed:
            tunnel.failed = True
            tunnel.decision = error_decision(str(data.server.error or "connection failed"),
                                             tunnel.verdict)

    def tcp_start(self, flow: tcp.TCPFlow) -> None:
        """A tunnel that carries neither TLS nor HTTP (SSH on 443, ...) is closed."""
        tunnel = self.tunnels.get(flow.client_conn.id)
        if tunnel is not None and not tunnel.refused:
            self._refuse(tunnel, refusal(NOT_TLS, "Túnel sem TLS recusado",
                                         tunnel.decision.level))
        flow.kill()

    def client_disconnected(self, client: connection.Client) -> Awaitable[None] | None:
        self.undecided.discard(client.id)
        self.notes.pages.pop(client.id, None)
        self.notes.opened.discard(client.id)
        return self._record(client.id)

    def done(self) -> None:
        """At a stop, the tunnels still open are recorded as they stand (their bytes so
        far): mitmproxy may stop before it reports their clients gone, and the audit
        writer, later in the chain, closes after this."""
        for client_id in list(self.tunnels):
            pending = self._record(client_id)
            if inspect.iscoroutine(pending):  # the queue was full: the record is in it anyway
                pending.close()

    def _record(self, client_id: str) -> Awaitable[None] | None:
        tunnel = self.tunnels.pop(client_id, None)
        late = self.notes.take(client_id)
        if tunnel is None:
            return None
        if late is not None and not tunnel.refused:
            self._refuse(tunnel, late)
            tunnel.failed = False  # refused by policy when connecting, not a failure
        v, d, c = tunnel.verdict, tunnel.decision, tunnel.counter
        self.audit.count(d)
        identity = seen_transparently(v.identity) if tunnel.transparent else v.identity
        return self.audit.submit(record(
            v.started, v.ref, identity, d, "TLS" if tunnel.transparent else "CONNECT", "https",
            tunnel.host, tunnel.port, None,
            403 if tunnel.refused else 502 if tunnel.failed else 200,
            c.up if c else 0, c.down if c else 0,
            (time.time() - v.started) * 1000, v.client_ip))
