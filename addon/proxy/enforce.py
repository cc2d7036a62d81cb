"""The decision: every request and CONNECT gets a Verdict, and a refusal is answered here.

Plain HTTP is decided in `requestheaders`, before a body is read or an upstream
connection made, on every name the request carries (absolute-form URL host,
Host header, HTTP/2 :authority, and the TLS SNI inside an intercepted tunnel):
if any is blocked, the request is. A CONNECT is decided on its target here and
on its SNI in `tunnels`. Malformed input is a 4xx with a rule, never an error.

Failing closed holds by construction: a missing `Identified` (identify failed),
an exception here, or a request reaching `request` without a Verdict is refused.
mitmproxy's add-on manager would log and swallow an exception and let the
request through, so none leaves this module.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

from mitmproxy import ctx, exceptions, http

from addon.audit.record import new_ref
from addon.errors import HostError
from addon.policy.destinations import FORBIDDEN, forbidden_host
from addon.policy.hosts import MAX_URL_LEN, normalize_host
from addon.policy.model import Decision
from addon.proxy import blockpage, formtoken
from addon.proxy.identify import client_ip
from addon.proxy.metrics import Metrics
from addon.proxy.reload import Reload
from addon.proxy.verdict import (
    IDENTIFIED,
    INTERNAL_ERROR,
    PORTAL,
    RECORDED,
    VERDICT,
    ConnectionNotes,
    Verdict,
    refusal,
)
from addon.runtime import Runtime

log = logging.getLogger("guarita")

LARGE_BODY = 1 << 20  # a refused request with a bigger (or unknown) body is cut, not buffered
MAX_FORM = 16384  # the request form's body; the portal reads nothing bigger
# refusals that say "the filter cannot decide now", not "you may not"
UNAVAILABLE = {"internal.error": 503, "identity.directory_unavailable": 503}


def body_over(req: http.Request, limit: int) -> bool:
    """True when the request announces a body over `limit` bytes, or one of unknown size."""
    if "chunked" in req.headers.get("transfer-encoding", "").lower():
        return True
    length = req.headers.get("content-length")
    if length is None and (req.is_http2 or req.is_http3):
        # no framing header: the size is unknown until the stream ends (GET and the like
        # end their stream with the headers, and carry none)
        return req.method in ("POST", "PUT", "PATCH")
    try:
        return length is not None and int(length) > limit
    except ValueError:
        return True


class Enforce:
    def __init__(self, reload: Reload, metrics: Metrics, notes: ConnectionNotes) -> None:
        self.reload = reload
        self.metrics = metrics
        self.notes = notes
        self.https_block_page = False
        self.clock = time.time
        self.tls_ports: frozenset[int] = frozenset({443})
        self.portal_host = "guarita.invalid"
        self.allow_localhost = False

    def load(self, loader: Any) -> None:
        loader.add_option(
            "guarita_tls_ports", str, "443",
            "Comma-separated ports a CONNECT may reach; anything else (SSH, SMTP, ...) is "
            "refused, so a tunnel cannot carry another protocol.",
        )
        loader.add_option(
            "guarita_allow_localhost", bool, False,
            "Allow destinations on the proxy host's loopback (127.0.0.0/8, ::1, localhost), "
            "like Squid's to_localhost. Off by default: the proxy is no way into its own host.",
        )
        loader.add_option(
            "guarita_https_block_page", bool, False,
            "Accept a blocked CONNECT and decrypt that tunnel only, to show the block page "
            "(clients must trust the proxy's CA). Allowed tunnels stay undecrypted.",
        )
        loader.add_option(
            "guarita_portal_host", str, "guarita.invalid",
            "Reserved host name of the proxy's own pages (the release-request form). It "
            "never goes upstream; `.invalid` names cannot exist on the internet.",
        )

    def configure(self, updated: set[str]) -> None:
        if "guarita_tls_ports" in updated:
            try:
                ports = frozenset(int(p) for p in ctx.options.guarita_tls_ports.split(",")
                                  if p.strip())
            except ValueError as exc:
                raise exceptions.OptionsError(f"guarita_tls_ports: {exc}") from exc
            if not ports or not all(0 < p < 65536 for p in ports):
                raise exceptions.OptionsError("guarita_tls_ports: ports are 1 to 65535")
            self.tls_ports = ports
        if "guarita_portal_host" in updated:
            try:
                self.portal_host = normalize_host(ctx.options.guarita_portal_host)
            except HostError as exc:
                raise exceptions.OptionsError(f"guarita_portal_host: {exc}") from exc
        if "guarita_allow_localhost" in updated:
            self.allow_localhost = bool(ctx.options.guarita_allow_localhost)
        if "guarita_https_block_page" in updated:
            self.https_block_page = bool(ctx.options.guarita_https_block_page)

    # ------------------------------------------------------------------ hooks
    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live:
            return
        self._enforce(flow, connect=False)

    def http_connect(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live:
            return
        self._enforce(flow, connect=True)

    def request(self, flow: http.HTTPFlow) -> None:
        """The last gate before anything goes upstream: no Verdict, no request."""
        if flow.response or flow.error or not flow.live:
            return
        v = flow.metadata.get(VERDICT)
        if not isinstance(v, Verdict):
            self.metrics.errors.labels("no_verdict").inc()
            log.error("guarita: a request reached the upstream gate without a verdict; refused")
            self._enforce(flow, connect=False, decide=False)
        elif v.portal:  # the request form answers these; whatever it did not answer stops here
            flow.response = blockpage.simple_page(404, "Página não encontrada",
                                                  "Esta página do filtro não existe.",
                                                  self.portal_host)

    # --------------------------------------------------------------- deciding
    def _enforce(self, flow: http.HTTPFlow, connect: bool, decide: bool = True) -> None:
        started = time.perf_counter()
        page = self.notes.pages.get(flow.client_conn.id) if self.notes.pages else None
        if page is not None:
            # inside a blocked tunnel accepted for its page: every request gets that page,
            # and the tunnel's one record (written by `tunnels`) is the block's; the page's
            # own form posts here, to its HTTPS origin (a form from an HTTPS page to plain
            # HTTP makes the browser warn), and is answered as the portal's
            if (not connect and flow.request.method == "POST" and page.identity is not None
                    and page.identity.user and flow.request.path.split("?", 1)[0] in
                    (blockpage.FORM_PATH, blockpage.JUSTIFY_PATH)
                    and not body_over(flow.request, MAX_FORM)):
                flow.metadata[VERDICT] = dataclasses.replace(  # recorded as the portal's
                    page, decision=PORTAL, status=0, host=self.portal_host)
                return
            flow.metadata[RECORDED] = True
            flow.metadata[VERDICT] = page
            self._answer(flow, page)
            return
        now = self.clock()
        ip = client_ip(flow.client_conn.peername[0])
        v: Verdict | None = None
        if decide:
            try:
                v = self._decide(flow, self.reload.runtime, now, ip, connect)
            except Exception as exc:  # noqa: BLE001 - fail closed
                self.metrics.errors.labels("enforce").inc()
                log.error("guarita: refusing after an internal error: %s: %s",
                          type(exc).__name__, exc)
        if v is None:
            v = Verdict(INTERNAL_ERROR, None, new_ref(), now, ip, flow.request.host or "-", 503)
        flow.metadata[VERDICT] = v
        self.metrics.decision_seconds.observe(time.perf_counter() - started)
        if not v.allowed:
            self._answer(flow, v)

    def _decide(self, flow: http.HTTPFlow, rt: Runtime, now: float, ip: str,
                connect: bool) -> Verdict:
        req = flow.request
        found = flow.metadata.get(IDENTIFIED)
        known = found.identity if found is not None else None  # on every record, refusals too

        def verdict(d: Decision, status: int, host: str, identity: Any = known,
                    challenge: bool = False) -> Verdict:
            return Verdict(d, identity, new_ref(), now, ip, host, status, challenge)

        raw_host = req.host or "-"  # as sent: made safe where it is written or shown
        if len(req.host) + len(req.path) > MAX_URL_LEN:
            return verdict(refusal("request.too_long", "Endereço longo demais (mais de "
                                   f"{MAX_URL_LEN} caracteres)"), 414, raw_host)
        try:
            names = [normalize_host(req.host)] if connect else self._names(flow)
        except HostError as exc:
            return verdict(refusal("request.malformed", f"Pedido malformado: {exc}"), 400,
                           raw_host)
        host = names[0]
        if connect and req.port not in self.tls_ports:
            return verdict(refusal("tunnel.port", f"Túnel só para portas TLS ({req.port} "
                                   "recusada)"), 403, host)
        if found is None:
            self.metrics.errors.labels("no_identity").inc()
            return verdict(INTERNAL_ERROR, 503, host)
        networks, allow_local = rt.policy.forbidden_networks, self.allow_localhost
        bad = [n for n in names if forbidden_host(n, networks, allow_local)]
        if bad:
            return verdict(FORBIDDEN, 403, bad[0])
        if found.refusal is not None:
            status = 407 if found.challenge else UNAVAILABLE.get(found.refusal.rule, 403)
            return verdict(found.refusal, status, host, challenge=found.challenge)
        identity = found.identity
        if (not connect and identity is not None and identity.user
                and host == self.portal_host):
            if body_over(req, MAX_FORM):
                return verdict(refusal("request.too_large", "Pedido grande demais"), 413, host)
            return verdict(PORTAL, 0, host)
        decision = None
        for name in names:
            d = rt.decide(name, identity, now, ip)
            if decision is None or not d.allowed:
                decision, host = d, name
                if not d.allowed:
                    break
        assert decision is not None
        if decision.allowed:
            return verdict(decision, 0, host)
        challenge = found.challenge and decision.rule == "level0.no_user"
        return verdict(decision, 407 if challenge else 403, host, challenge=challenge)

    def _page_tunnel(self, flow: http.HTTPFlow, v: Verdict) -> bool:
        """Whether a refused CONNECT is accepted to show its page over TLS: a refusal a page
        explains (not a 407, which the browser asks for itself) on a TLS port."""
        return (self.https_block_page and v.status in (403, 503)
                and flow.request.port in self.tls_ports and v.decision.rule != "tunnel.port")

    @staticmethod
    def _names(flow: http.HTTPFlow) -> list[str]:
        """Every name the request carries, canonical and once each; HostError if one is bad."""
        req = flow.request
        hosts = req.headers.get_all("host")
        if len(hosts) > 1:
            raise HostError("more than one Host header")
        raw = [req.host, *hosts]
        if req.authority:
            raw.append(req.authority)
        if flow.client_conn.tls and flow.client_conn.sni:
            raw.append(flow.client_conn.sni)  # inside an intercepted tunnel
        out: list[str] = []
        for n in raw:
            h = normalize_host(n)
            if h not in out:
                out.append(h)
        return out

    def _answer(self, flow: http.HTTPFlow, v: Verdict) -> None:
        """Answer a refusal here; a large body is never read for it (the flow is cut)."""
        req = flow.request
        req.stream = False  # e.g. stream_large_bodies: a refused body goes nowhere
        if req.method == "CONNECT" and self._page_tunnel(flow, v):
            self.notes.pages[flow.client_conn.id] = v  # `tunnels` decrypts it, and records it
            return
        if req.method != "CONNECT" and body_over(req, LARGE_BODY):
            flow.kill()  # recorded by the audit log from the Verdict, like any refusal
            return
        try:
            rt = self.reload.runtime
            user = v.identity.user if v.identity else None
            token = (formtoken.issue(formtoken.key_for(rt.policy.paths.state_dir), user,
                                     v.host, v.started) if user else None)
            flow.response = blockpage.refusal_response(rt.policy, v, req, self.portal_host,
                                                       rt.denial(user, v.host), token)
        except Exception as exc:  # noqa: BLE001 - the refusal stands without its page
            self.metrics.errors.labels("blockpage").inc()
            log.error("guarita: block page failed: %s", exc)
            flow.response = http.Response.make(
                v.status or 403, f"guarita: acesso bloqueado, referencia {v.ref}\n".encode(),
                {"content-type": "text/plain; charset=utf-8"})
