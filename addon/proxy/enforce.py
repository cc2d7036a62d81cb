"""The guarita add-on: identify, decide, enforce and record every request and tunnel.

Plain HTTP is decided in `requestheaders`, before a body is read or an upstream
connection made, on every name the request carries (absolute-form URL host,
Host header, HTTP/2 :authority): if any is blocked, the request is. A CONNECT is
decided on its target, then again on the TLS ClientHello's SNI; a blocked SNI
kills the upstream connection in `server_connect` (with connection_strategy
lazy, nothing reaches the upstream before that). Allowed TLS passes through
undecrypted unless interception is on.

mitmproxy's add-on manager logs and swallows a hook's exception, which would
let a request through: every enforcing hook catches its own errors and blocks.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mitmproxy import connection, ctx, exceptions, http, tcp, tls
from mitmproxy.proxy import layer, server_hooks

from addon.audit.writer import AuditWriter
from addon.errors import DirectoryUnavailable, GuaritaError, HostError, UnknownUser
from addon.guard import Guard
from addon.identity.credentials import AuthCache, parse_basic
from addon.policy.hosts import MAX_URL_LEN, is_ip, normalize_host
from addon.policy.model import Decision, Identity
from addon.proxy import blockpage
from addon.proxy.bytecount import ByteCounter
from addon.proxy.metrics import Metrics
from addon.proxy.records import new_ref, record
from addon.state.sessions import canonical_ip

log = logging.getLogger("guarita")


@dataclass
class Tunnel:
    """A CONNECT tunnel, recorded once when it closes."""

    ref: str
    started: float
    identity: Identity | None
    decision: Decision
    host: str
    port: int
    client_ip: str
    blocked_sni: bool = False
    counter: ByteCounter | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# A client's address, canonical, once per address rather than once per request.
_peer_ip = functools.lru_cache(maxsize=65536)(canonical_ip)


def _special(rule: str, reason: str, level: int = 0) -> Decision:
    return Decision("block", level, (), reason, rule)


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    if is_ip(host):
        return host.startswith("127.") or host == "::1" or host == "0.0.0.0" or host == "::"
    return False


class Guarita:
    def __init__(self) -> None:
        self.guard: Guard | None = None
        self.writer: AuditWriter | None = None
        self.metrics = Metrics()
        self.auth = AuthCache()
        # Directory calls (ldap3 is pure Python) hold the GIL; few threads and a short switch
        # interval keep the event loop's share of the GIL, so it never waits long behind them.
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="guarita-dir")
        sys.setswitchinterval(0.001)
        self.tunnels: dict[str, Tunnel] = {}
        self.killed: set[str] = set()
        self.tls_ports: frozenset[int] = frozenset({443})
        self._stop = threading.Event()
        self._reloader: threading.Thread | None = None
        self._metrics_server: Any = None
        self._logon: Any = None
        self._lag_task: asyncio.Task[None] | None = None
        self._counters: dict[tuple[str, int, tuple[str, ...]], Any] = {}

    # ---------------------------------------------------------------- options
    def load(self, loader: Any) -> None:
        loader.add_option(
            "guarita_policy", str, "config/policy.yaml",
            "guarita policy file (YAML). Relative state paths in it resolve against the "
            "folder mitmproxy runs in. A change is reloaded within seconds; a broken file "
            "is refused and the last good policy kept.",
        )
        loader.add_option(
            "guarita_intercept", bool, False,
            "Decrypt HTTPS (clients must trust mitmproxy's CA): URL-level rules and the block "
            "page then work for HTTPS too. Off: TLS passes through undecrypted, decided on "
            "the CONNECT target and the TLS SNI.",
        )
        loader.add_option(
            "guarita_tls_ports", str, "443",
            "Comma-separated ports a CONNECT may reach; anything else (SSH, SMTP, ...) is "
            "refused, so a tunnel cannot carry another protocol.",
        )
        loader.add_option(
            "guarita_allow_localhost", bool, False,
            "Allow requests to the proxy host's loopback (127.0.0.0/8, ::1, localhost), like "
            "Squid's to_localhost. Off by default: the proxy is no way into its own host.",
        )
        loader.add_option(
            "guarita_auth_challenge", bool, True,
            "Answer 407 with a Basic challenge when a machine has no login session and sent "
            "no credentials, so browsers ask for the login (Art. 11 §1–2).",
        )
        loader.add_option(
            "guarita_audit_query", bool, False,
            "Keep the query string in the audit log. Off: only the path is stored (query "
            "strings carry tokens and personal data).",
        )
        loader.add_option("guarita_metrics_port", int, 0,
                          "Serve Prometheus metrics at /metrics on this port (0: off).")
        loader.add_option("guarita_metrics_host", str, "127.0.0.1",
                          "Address the metrics endpoint binds to (loopback by default).")
        loader.add_option(
            "guarita_session_port", int, 0,
            "Serve the logon-script endpoint (POST /login, /logout) on this port (0: off). "
            "Needs a shared token: GUARITA_SESSION_TOKEN or guarita_session_token_file.",
        )
        loader.add_option("guarita_session_host", str, "127.0.0.1",
                          "Address the logon-script endpoint binds to.")
        loader.add_option("guarita_session_token_file", str, "",
                          "File holding the logon-script endpoint's shared token.")
        loader.add_option("guarita_session_hours", float, 12.0,
                          "Hours a session announced by a logon script lasts unless renewed.")
        loader.add_option("guarita_reload_interval", float, 1.0,
                          "Seconds between checks for changed state, lists and policy.")

    def configure(self, updated: set[str]) -> None:
        if "guarita_tls_ports" in updated:
            try:
                self.tls_ports = frozenset(
                    int(p) for p in ctx.options.guarita_tls_ports.split(",") if p.strip()
                )
            except ValueError as exc:
                raise exceptions.OptionsError(f"guarita_tls_ports: {exc}") from exc
        if "guarita_policy" in updated:
            try:
                guard = Guard(Path(ctx.options.guarita_policy))
            except GuaritaError as exc:
                if self.guard is None:
                    raise exceptions.OptionsError(str(exc)) from exc
                log.error("guarita: %s; keeping the last good policy", exc)
                return
            old, self.guard = self.guard, guard
            self._adopt_policy()
            if old is not None:
                old.close()
            if self.writer is None or self.writer.path != guard.policy.paths.audit_file:
                if self.writer is not None:
                    self.writer.close()
                self.writer = AuditWriter(
                    guard.policy.paths.audit_file,
                    on_batch=self._on_batch,
                    on_error=lambda m: self.metrics.errors.labels("audit").inc(),
                )
        if "guarita_metrics_port" in updated or "guarita_metrics_host" in updated:
            self._start_metrics()
        if updated & {"guarita_session_port", "guarita_session_host", "guarita_session_hours",
                      "guarita_session_token_file"}:
            self._start_logon_endpoint()
        if ctx.options.connection_strategy != "lazy":
            ctx.options.update(connection_strategy="lazy")

    def _on_batch(self, n: int, seconds: float) -> None:
        self.metrics.audit_written.inc(n)
        self.metrics.audit_batch_seconds.observe(seconds)

    def _start_metrics(self) -> None:
        from prometheus_client import start_http_server

        port = ctx.options.guarita_metrics_port
        if self._metrics_server is not None or not port:
            return
        try:
            self._metrics_server = start_http_server(
                port, addr=ctx.options.guarita_metrics_host, registry=self.metrics.registry
            )
        except OSError as exc:
            raise exceptions.OptionsError(f"metrics port {port}: {exc}") from exc

    def _start_logon_endpoint(self) -> None:
        from addon.identity.logon import LogonEndpoint, read_token

        if self._logon is not None:
            self._logon.stop()
            self._logon = None
        port = ctx.options.guarita_session_port
        if not port or self.guard is None:
            return
        try:
            token = read_token(os.environ.get("GUARITA_SESSION_TOKEN"),
                               ctx.options.guarita_session_token_file or None)
            self._logon = LogonEndpoint(
                ctx.options.guarita_session_host, port, token, self.guard.policy.paths.state_dir,
                lambda: self.guard.directory,  # type: ignore[union-attr]
                ttl=ctx.options.guarita_session_hours * 3600,
            ).start()
        except (GuaritaError, OSError) as exc:
            raise exceptions.OptionsError(f"session endpoint port {port}: {exc}") from exc

    async def _watch_loop_lag(self) -> None:
        """Measure event-loop stalls: how late a 10 ms timer fires. Costs one wake-up per tick."""
        worst = 0.0
        window_worst, window_start = 0.0, time.monotonic()
        while not self._stop.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0.01)
            lag = time.perf_counter() - t - 0.01
            self.metrics.loop_lag.observe(lag)
            window_worst = max(window_worst, lag)
            if time.monotonic() - window_start >= 10:  # at most one line per 10 s, not a flood
                if window_worst > 0.02:
                    log.warning("guarita: event loop stalled up to %.0f ms in the last 10 s",
                                window_worst * 1000)
                window_worst, window_start = 0.0, time.monotonic()
            if lag > worst:
                worst = lag
                self.metrics.loop_lag_max.set(worst)

    def running(self) -> None:
        # Startup objects (policy, holidays, mitmproxy's own) never die: keep them out of the
        # cyclic GC's full collections, which otherwise stall the loop for tens of ms.
        gc.freeze()
        if self._lag_task is None:
            self._lag_task = asyncio.get_running_loop().create_task(self._watch_loop_lag())
        if self._reloader is None:
            self._reloader = threading.Thread(target=self._reload_loop, name="guarita-reload",
                                              daemon=True)
            self._reloader.start()
        if self.guard is not None:
            p = self.guard.policy
            log.info("guarita: policy %s, %d category entries, audit log %s",
                     p.source, self.guard.index.entries_count, p.paths.audit_file)

    def _reload_loop(self) -> None:
        tick = 0
        while not self._stop.wait(ctx.options.guarita_reload_interval):
            guard = self.guard
            if guard is None:
                continue
            try:
                if guard.refresh_state():
                    self.metrics.reloads.labels("state", "ok").inc()
                self.metrics.active_releases.set(len(guard.snapshot.releases))
                if self.writer is not None:
                    self.metrics.audit_queue.set(self.writer.waiting)
                tick += 1
                if tick % 2 == 0:
                    for what, fn in (("policy", guard.refresh_policy),
                                     ("categories", guard.refresh_index)):
                        msg = fn()
                        if msg == "policy reloaded":
                            self._adopt_policy()
                        if msg:
                            ok = "keeping" not in msg
                            self.metrics.reloads.labels(what, "ok" if ok else "error").inc()
                            (log.info if ok else log.error)("guarita: %s", msg)
                    if self.guard is guard:
                        guard.refresh_state(force=True) if tick % 60 == 0 else None
            except Exception as exc:  # the reloader must never die
                self.metrics.errors.labels("reload").inc()
                log.error("guarita: reload failed: %s", exc)

    def done(self) -> None:
        self._stop.set()
        if self.writer is not None:
            lost = self.writer.close()
            if lost:
                self.metrics.audit_lost.inc(lost)
        if self._logon is not None:
            self._logon.stop()
        if self._metrics_server is not None:
            try:
                self._metrics_server[0].shutdown()
            except Exception:  # noqa: S110 - best effort on shutdown
                pass
        self.pool.shutdown(wait=False)

    # --------------------------------------------------------------- identity
    async def _identify(self, flow: http.HTTPFlow, client_ip: str, now: float
                        ) -> tuple[Identity | None, Decision | None, bool]:
        """(identity, a refusal, whether to challenge with 407)."""
        assert self.guard is not None
        guard = self.guard
        header = flow.request.headers.get("proxy-authorization")
        if header is not None:
            del flow.request.headers["proxy-authorization"]  # never forwarded upstream
        creds = parse_basic(header)
        if creds is not None:
            login, password = creds
            if self.auth.locked(login, client_ip):
                return None, _special("identity.locked",
                                      "Muitas tentativas de senha: aguarde alguns minutos"), True
            if self.auth.verified(login, password):
                self.metrics.cache_hits.labels("auth").inc()
            else:
                loop = asyncio.get_running_loop()
                try:
                    ok = await loop.run_in_executor(
                        self.pool, guard.directory.authenticate, login, password
                    )
                except DirectoryUnavailable:
                    self.metrics.directory_lookups.labels("unavailable").inc()
                    return None, _special("identity.directory_unavailable",
                                          "Diretório indisponível: acesso bloqueado"), False
                self.metrics.directory_lookups.labels("bind_ok" if ok else "bind_fail").inc()
                if not ok:
                    self.auth.failure(login, client_ip)
                    return None, _special("identity.bad_credentials",
                                          "Usuário ou senha incorretos"), True
                self.auth.success(login, password, client_ip)
            user: str | None = login
        else:
            user = None
        try:
            if self._needs_directory_io(user, client_ip):
                # a cache miss means a directory round trip: never on the event loop
                identity = await asyncio.get_running_loop().run_in_executor(
                    self.pool, guard.identity, user, client_ip, now)
            else:
                identity = guard.identity(user, client_ip, now)
        except UnknownUser:
            return None, _special("identity.unknown_user",
                                  "Usuário desconhecido no diretório"), False
        except DirectoryUnavailable:
            return None, _special("identity.directory_unavailable",
                                  "Diretório indisponível: acesso bloqueado"), False
        challenge = identity.source == "none" and ctx.options.guarita_auth_challenge
        return identity, None, challenge

    def _needs_directory_io(self, user: str | None, client_ip: str) -> bool:
        assert self.guard is not None
        peek = getattr(self.guard.directory, "peek", None)
        if peek is None:
            return False  # the static directory answers from memory
        login = user or self.guard.snapshot.sessions.get(client_ip)
        return bool(login) and not peek(login)

    def _adopt_policy(self) -> None:
        """What follows a new policy (first load or reload): its limits, directory, labels."""
        if self.guard is None:
            return
        limits = self.guard.policy.auth
        self.auth.ttl = limits.cache_seconds
        self.auth.max_failures = limits.max_failures
        self.auth.lockout = limits.lockout_seconds
        d = self.guard.directory
        if hasattr(d, "on_event"):
            names = {"lookups": "asked", "hits": "cached", "stale": "stale",
                     "unavailable": "unavailable"}
            d.on_event = lambda kind: self.metrics.directory_lookups.labels(names[kind]).inc()
        self._counters = {}  # metric children carry category labels the old policy knew

    # ------------------------------------------------------------------- HTTP
    def _host_names(self, flow: http.HTTPFlow) -> list[str]:
        """Every name the request carries; HostError if one is malformed or doubled."""
        req = flow.request
        hosts = req.headers.get_all("host")
        if len(hosts) > 1:
            raise HostError("more than one Host header")
        names = [req.host]
        if hosts:
            names.append(hosts[0])
        if req.authority:
            names.append(req.authority)
        sni = flow.client_conn.sni
        if sni:
            names.append(sni)
        out: list[str] = []
        for n in names:
            h = normalize_host(n)
            if h not in out:
                out.append(h)
        return out

    async def requestheaders(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live:
            return
        started = time.perf_counter()
        now = time.time()
        client_ip = _peer_ip(flow.client_conn.peername[0])
        identity: Identity | None = None
        try:
            if self.guard is None:
                raise GuaritaError("no policy loaded")
            if len(flow.request.path) + len(flow.request.host) > MAX_URL_LEN:
                raise HostError("URL too long")
            try:
                names = self._host_names(flow)
            except HostError as exc:
                self._refuse(flow, now, client_ip, None,
                             _special("request.malformed", f"Pedido malformado: {exc}"), 400)
                return
            if not ctx.options.guarita_allow_localhost and any(map(_is_loopback, names)):
                self._refuse(flow, now, client_ip, None,
                             _special("proxy.to_localhost", "Destino no próprio proxy"), 403)
                return
            identity, refusal, challenge = await self._identify(flow, client_ip, now)
            if refusal is not None:
                self._refuse(flow, now, client_ip, identity, refusal, 407 if challenge else 403)
                return
            assert identity is not None
            if (flow.request.method == "POST" and identity.user
                    and flow.request.path.split("?", 1)[0] == blockpage.FORM_URL_PATH):
                flow.metadata["guarita_form"] = identity  # answered in `request`, never upstream
                return
            decision = None
            for name in names:
                d = self.guard.decide(name, identity, now, client_ip)
                if decision is None or not d.allowed:
                    decision = d
                    if not d.allowed:
                        break
            assert decision is not None
            self.metrics.decision_seconds.observe(time.perf_counter() - started)
            if not decision.allowed:
                status = 407 if challenge and decision.rule == "level0.no_user" else 403
                self._refuse(flow, now, client_ip, identity, decision, status, host=names[0]
                             if decision.matched is None else name)
                return
            flow.metadata["guarita"] = (new_ref(), now, identity, decision, client_ip, names[0])
        except Exception as exc:  # fail closed: an enforcing hook that fails blocks
            self.metrics.errors.labels("requestheaders").inc()
            log.error("guarita: blocking after an internal error: %s", exc, exc_info=True)
            self._refuse(flow, now, client_ip, identity,
                         _special("internal.error", "Erro interno do filtro: bloqueado"), 503)

    def _refuse(self, flow: http.HTTPFlow, now: float, client_ip: str,
                identity: Identity | None, d: Decision, status: int,
                host: str | None = None) -> None:
        ref = new_ref()
        req = flow.request
        try:
            shown = host or normalize_host(req.host)
        except HostError:
            shown = req.host[:253]
        headers: dict[str, str] = {"cache-control": "no-store"}
        policy = self.guard.policy if self.guard else None
        if "text/html" in req.headers.get("accept", "") and policy is not None:
            body = blockpage.render_html(policy, d, shown, identity and identity.user, ref, now,
                                         policy.calendar.tz, form=req.method != "CONNECT")
            headers["content-type"] = "text/html; charset=utf-8"
        elif policy is not None:
            body = blockpage.render_text(policy, d, shown, identity and identity.user, ref)
            headers["content-type"] = "text/plain; charset=utf-8"
        else:
            body = f"guarita: {d.reason}\nreferencia: {ref}\n"
            headers["content-type"] = "text/plain; charset=utf-8"
        if status == 407:
            headers["proxy-authenticate"] = 'Basic realm="guarita", charset="UTF-8"'
        flow.response = http.Response.make(status, body.encode("utf-8"), headers)
        self._count("block", d)
        self._audit(record(now, ref, identity, d, req.method, req.scheme, shown, req.port,
                           self._path(req), status, len(req.raw_content or b""), len(body),
                           0.0, client_ip))

    def _count(self, action: str, d: Decision) -> None:
        """Count a request; label children are cached (labels() costs more than inc())."""
        key = (action, d.level, d.categories[:1])
        child = self._counters.get(key)
        if child is None:
            child = self._counters[key] = self.metrics.requests.labels(
                action, str(d.level), self._cat(d))
        child.inc()

    def _cat(self, d: Decision) -> str:
        labels = self.guard.policy.category_labels if self.guard else {}
        return self.metrics.category_label(d.categories, labels)

    def _path(self, req: http.Request) -> str:
        path = req.path if req.method != "CONNECT" else ""
        if not ctx.options.guarita_audit_query:
            path = path.split("?", 1)[0]
        return path[:2048]

    def _audit(self, rec: tuple[object, ...]) -> None:
        if self.writer is not None:
            if self.writer.waiting >= self.writer.max_queue:
                self.metrics.audit_backpressure.inc()
            self.writer.submit(rec)

    async def request(self, flow: http.HTTPFlow) -> None:
        """The block page's release-request form, answered by the proxy itself."""
        identity = flow.metadata.pop("guarita_form", None)
        if identity is None or flow.response is not None:
            return
        from addon.proxy.requestform import handle_form

        try:
            assert self.guard is not None
            loop = asyncio.get_running_loop()  # a SQLite write: off the event loop
            flow.response = await loop.run_in_executor(
                self.pool, handle_form, self.guard, identity, flow.request)
        except Exception as exc:  # fail closed: the form never goes upstream
            self.metrics.errors.labels("request_form").inc()
            log.error("guarita: release-request form failed: %s", exc)
            flow.response = http.Response.make(500, b"guarita: pedido nao registrado\n",
                                               {"content-type": "text/plain; charset=utf-8"})

    def response(self, flow: http.HTTPFlow) -> None:
        self._finish(flow, flow.response.status_code if flow.response else None)

    def error(self, flow: http.HTTPFlow) -> None:
        self._finish(flow, 0)

    def _finish(self, flow: http.HTTPFlow, status: int | None) -> None:
        meta = flow.metadata.pop("guarita", None)
        if meta is None:
            return
        ref, now, identity, d, client_ip, host = meta
        req, resp = flow.request, flow.response
        self._count("allow", d)
        self._audit(record(
            now, ref, identity, d, req.method, req.scheme, host, req.port, self._path(req),
            status, len(req.raw_content or b""), len(resp.raw_content or b"") if resp else 0,
            (time.time() - now) * 1000, client_ip,
        ))

    # ---------------------------------------------------------------- tunnels
    async def http_connect(self, flow: http.HTTPFlow) -> None:
        now = time.time()
        client_ip = _peer_ip(flow.client_conn.peername[0])
        identity: Identity | None = None
        try:
            if self.guard is None:
                raise GuaritaError("no policy loaded")
            try:
                host = normalize_host(flow.request.host)
            except HostError as exc:
                self._refuse(flow, now, client_ip, None,
                             _special("request.malformed", f"Destino inválido: {exc}"), 400)
                return
            if flow.request.port not in self.tls_ports:
                self._refuse(flow, now, client_ip, None, _special(
                    "tunnel.port", f"Túnel só para portas TLS ({flow.request.port} recusada)"),
                    403, host)
                return
            if not ctx.options.guarita_allow_localhost and _is_loopback(host):
                self._refuse(flow, now, client_ip, None,
                             _special("proxy.to_localhost", "Destino no próprio proxy"), 403, host)
                return
            identity, refusal, challenge = await self._identify(flow, client_ip, now)
            if refusal is not None:
                self._refuse(flow, now, client_ip, identity, refusal, 407 if challenge else 403,
                             host)
                return
            assert identity is not None
            d = self.guard.decide(host, identity, now, client_ip)
            if not d.allowed:
                status = 407 if challenge and d.rule == "level0.no_user" else 403
                self._refuse(flow, now, client_ip, identity, d, status, host)
                return
            self.tunnels[flow.client_conn.id] = Tunnel(
                new_ref(), now, identity, d, host, flow.request.port, client_ip
            )
        except Exception as exc:
            self.metrics.errors.labels("http_connect").inc()
            log.error("guarita: blocking CONNECT after an internal error: %s", exc, exc_info=True)
            self._refuse(flow, now, client_ip, identity,
                         _special("internal.error", "Erro interno do filtro: bloqueado"), 503)

    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        client = data.context.client
        tunnel = self.tunnels.get(client.id)
        try:
            if tunnel is None or self.guard is None:
                # TLS that did not come through a decided CONNECT (e.g. transparent mode).
                self.killed.add(client.id)
                data.ignore_connection = True
                return
            sni = data.client_hello.sni
            if sni:
                host = normalize_host(sni)
                if host != tunnel.host:
                    assert tunnel.identity is not None
                    d = self.guard.decide(host, tunnel.identity, time.time(), tunnel.client_ip)
                    if not d.allowed or (not ctx.options.guarita_allow_localhost
                                         and _is_loopback(host)):
                        tunnel.blocked_sni = True
                        tunnel.decision = d if not d.allowed else _special(
                            "proxy.to_localhost", "Destino no próprio proxy")
                        tunnel.host = host
                        self.killed.add(client.id)
            data.ignore_connection = not ctx.options.guarita_intercept or tunnel.blocked_sni
        except Exception as exc:
            self.metrics.errors.labels("tls_clienthello").inc()
            log.error("guarita: closing a tunnel after an internal error: %s", exc)
            if tunnel is not None:
                tunnel.blocked_sni = True
                tunnel.decision = _special("internal.error", "Erro interno do filtro")
            self.killed.add(client.id)
            data.ignore_connection = True

    def next_layer(self, nextlayer: layer.NextLayer) -> None:
        """Count a decided tunnel's bytes (runs after mitmproxy's own NextLayer chose)."""
        tunnel = self.tunnels.get(nextlayer.context.client.id)
        if tunnel is None or tunnel.counter is not None or nextlayer.layer is None:
            return
        tunnel.counter = ByteCounter(nextlayer.layer, nextlayer.context.client)
        nextlayer.layer = tunnel.counter  # type: ignore[assignment]

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        if data.client.id in self.killed:
            data.server.error = "guarita: blocked by policy"

    def tcp_start(self, flow: tcp.TCPFlow) -> None:
        """A tunnel that carries neither TLS nor HTTP (SSH on 443, ...) is closed."""
        tunnel = self.tunnels.get(flow.client_conn.id)
        if tunnel is not None:
            tunnel.blocked_sni = True
            tunnel.decision = _special("tunnel.not_tls", "Túnel sem TLS recusado",
                                       tunnel.decision.level)
        self.killed.add(flow.client_conn.id)
        flow.kill()

    def client_disconnected(self, client: connection.Client) -> None:
        self.killed.discard(client.id)
        tunnel = self.tunnels.pop(client.id, None)
        if tunnel is None:
            return
        d = tunnel.decision
        action = "block" if tunnel.blocked_sni else "allow"
        self._count(action, d)
        c = tunnel.counter
        self._audit(record(
            tunnel.started, tunnel.ref, tunnel.identity, d, "CONNECT", "https", tunnel.host,
            tunnel.port, None, 403 if tunnel.blocked_sni else 200, c.up if c else 0,
            c.down if c else 0, (time.time() - tunnel.started) * 1000, tunnel.client_ip,
        ))
