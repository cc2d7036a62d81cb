"""Who is asking: proxy authentication (Kerberos, then Basic), else the machine's login
session, else nobody.

Runs first on every request and CONNECT and leaves an `Identified` in the flow's
metadata; `enforce` refuses when it is missing, so a failure here can only
block. Credentials are checked against the directory on a thread pool, never on
the event loop; a verified password is cached, and a login proven on a CONNECT
holds for the requests inside that tunnel when it is intercepted (browsers send
`Proxy-Authorization` only on the CONNECT). The header is never forwarded.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import weakref
from collections.abc import Awaitable, Coroutine, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mitmproxy import connection, ctx, http

from addon.errors import DirectoryUnavailable, UnknownUser
from addon.identity.credentials import AuthCache, PasswordCheck, check_password, parse_basic
from addon.identity.negotiate import Acceptor, TicketRefused, decode_token
from addon.policy.hosts import canonical_ip
from addon.policy.model import Identity, Policy
from addon.proxy.metrics import Metrics
from addon.proxy.reload import Reload
from addon.proxy.verdict import IDENTIFIED, INTERNAL_ERROR, TRANSPARENT, Identified, refusal
from addon.runtime import Runtime

log = logging.getLogger("guarita")

UNAVAILABLE = refusal("identity.directory_unavailable", "Diretório indisponível: acesso bloqueado")
Pending = Coroutine[Any, Any, Identified]
TRANSPARENT_PROOF = "transparent"  # a redirected client: its session only, never a 407


async def _settled(found: Identified | Pending) -> Identified:
    return found if isinstance(found, Identified) else await found


@functools.lru_cache(maxsize=65536)
def client_ip(peer: str) -> str:
    """A client's canonical address, once per address rather than once per request."""
    return canonical_ip(peer)


class Identify:
    def __init__(self, reload: Reload, metrics: Metrics) -> None:
        self.reload = reload
        self.metrics = metrics
        self.auth = AuthCache()
        self.clock = time.time
        self.challenge = True  # guarita_auth_challenge, read once in configure
        self._policy: Policy | None = None
        # Directory calls (ldap3 is pure Python) run here; a few threads are plenty.
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="guarita-dir")
        # (login, proof) proven on a client connection: a CONNECT's Basic, any Negotiate
        self.proven: MutableMapping[connection.Client, tuple[str, str]] = (
            weakref.WeakKeyDictionary())

    def load(self, loader: Any) -> None:
        loader.add_option(
            "guarita_auth_challenge", bool, True,
            "Answer 407 with a Basic challenge when a machine has no login session and sent "
            "no credentials, so browsers ask for the login (Art. 11 §1–2).",
        )

    # Hooks return None, or a coroutine only when the answer needs the directory or a
    # password check (a thread): most requests are identified from memory, and a
    # coroutine per request is a measurable share of the keep-alive path.
    def requestheaders(self, flow: http.HTTPFlow) -> Awaitable[None] | None:
        if flow.response or flow.error or not flow.live:
            return None
        return self._into(flow)

    def http_connect(self, flow: http.HTTPFlow) -> Awaitable[None] | None:
        if flow.response or flow.error or not flow.live:
            return None
        return self._into(flow)

    def _into(self, flow: http.HTTPFlow) -> Awaitable[None] | None:
        try:
            found = self._identify(flow)
        except Exception as exc:  # noqa: BLE001 - fail closed: enforce refuses this
            found = self._failed(exc)
        if isinstance(found, Identified):
            flow.metadata[IDENTIFIED] = found
            return None
        return self._await_into(flow, found)

    async def _await_into(self, flow: http.HTTPFlow, pending: Pending) -> None:
        try:
            flow.metadata[IDENTIFIED] = await pending
        except Exception as exc:  # noqa: BLE001 - fail closed: enforce refuses this
            flow.metadata[IDENTIFIED] = self._failed(exc)

    def _failed(self, exc: Exception) -> Identified:
        self.metrics.errors.labels("identify").inc()
        log.error("guarita: identify failed, refusing: %s: %s", type(exc).__name__, exc)
        return Identified(None, INTERNAL_ERROR)

    def _adopt(self, policy: Policy) -> None:
        limits = policy.auth
        self.auth.ttl = limits.cache_seconds
        self.auth.free_failures = limits.max_failures
        self.auth.max_delay = limits.lockout_seconds
        names = {"lookups": "asked", "hits": "cached", "stale": "stale",
                 "unavailable": "unavailable"}
        self.reload.runtime.directory.watch(
            lambda kind: self.metrics.directory_lookups.labels(names[kind]).inc())
        self._policy = policy

    def _identify(self, flow: http.HTTPFlow) -> Identified | Pending:
        """The answer when memory has it, else a coroutine that finds it off the loop."""
        rt = self.reload.runtime
        if rt.policy is not self._policy:
            self._adopt(rt.policy)
        now = self.clock()
        ip = client_ip(flow.client_conn.peername[0])
        if TRANSPARENT in flow.metadata:
            return self._lookup(rt, None, ip, now, TRANSPARENT_PROOF)
        header = flow.request.headers.get("proxy-authorization")
        login: str | None = None
        proof = "directory"
        if header is not None:  # most requests carry none: nothing to parse
            del flow.request.headers["proxy-authorization"]  # never forwarded upstream
            scheme, _, value = header.strip().partition(" ")
            if scheme.lower() == "negotiate" and rt.negotiate is not None:
                return self._by_ticket(flow, rt, rt.negotiate, value, ip, now)
            if (creds := parse_basic(header)) is not None:
                if not self.auth.verified(creds[0], creds[1]):
                    return self._by_password(flow, rt, creds, ip, now)
                self.metrics.child(self.metrics.cache_hits, "auth").inc()
                login, proof = creds[0], "basic"
                if flow.request.method == "CONNECT":
                    self.proven[flow.client_conn] = (login, proof)
        if login is None and flow.client_conn in self.proven:
            login, proof = self.proven[flow.client_conn]  # proven earlier on this connection
        return self._lookup(rt, login, ip, now, proof)

    def lookup_session(self, ip: str, now: float) -> Identified | Pending:
        """A redirected client's identity (`transparent`): the machine's login session only,
        and no challenge (a browser that knows of no proxy cannot answer a 407)."""
        rt = self.reload.runtime
        if rt.policy is not self._policy:
            self._adopt(rt.policy)
        return self._lookup(rt, None, ip, now, TRANSPARENT_PROOF)

    def _lookup(self, rt: Runtime, login: str | None, ip: str, now: float,
                proof: str) -> Identified | Pending:
        if self._needs_directory_io(rt, login, ip):
            return self._lookup_off_loop(rt, login, ip, now, proof)
        try:
            return self._found(rt.identity(login, ip, now, None, proof), proof)
        except (UnknownUser, DirectoryUnavailable) as exc:
            return self._not_found(exc)

    async def _lookup_off_loop(self, rt: Runtime, login: str | None, ip: str, now: float,
                               proof: str) -> Identified:
        try:
            return self._found(await asyncio.get_running_loop().run_in_executor(
                self.pool, rt.identity, login, ip, now, None, proof), proof)
        except (UnknownUser, DirectoryUnavailable) as exc:
            return self._not_found(exc)

    def _found(self, identity: Identity, proof: str) -> Identified:
        return Identified(identity, None,
                          proof != TRANSPARENT_PROOF and self._challenge(identity))

    @staticmethod
    def _not_found(exc: UnknownUser | DirectoryUnavailable) -> Identified:
        if isinstance(exc, UnknownUser):
            return Identified(None, refusal("identity.unknown_user",
                                            "Usuário desconhecido no diretório"))
        return Identified(None, UNAVAILABLE)

    async def _by_password(self, flow: http.HTTPFlow, rt: Runtime, creds: tuple[str, str],
                           ip: str, now: float) -> Identified:
        refused = await self._check_password(rt, creds[0], creds[1], ip)
        if refused is not None:
            return refused
        if flow.request.method == "CONNECT":
            self.proven[flow.client_conn] = (creds[0], "basic")
        return await _settled(self._lookup(rt, creds[0], ip, now, "basic"))

    async def _by_ticket(self, flow: http.HTTPFlow, rt: Runtime, acceptor: Acceptor, value: str,
                         ip: str, now: float) -> Identified:
        found = await self._check_ticket(acceptor, value, ip)
        if isinstance(found, Identified):
            self.proven.pop(flow.client_conn, None)
            return found
        # Browsers treat Negotiate as connection-based (as NTLM): one ticket per
        # connection, the requests after it on that connection carry no header.
        self.proven[flow.client_conn] = (found, "kerberos")
        return await _settled(self._lookup(rt, found, ip, now, "kerberos"))

    def configure(self, updated: set[str]) -> None:
        if "guarita_auth_challenge" in updated:
            self.challenge = bool(ctx.options.guarita_auth_challenge)

    def _challenge(self, identity: Identity) -> bool:
        return identity.source == "none" and self.challenge

    async def _check_password(self, rt: Runtime, login: str, password: str,
                              ip: str) -> Identified | None:
        """None when the password is right; else the refusal (with a challenge to retry).

        A password verified before never comes here (`_identify` accepts it from memory),
        even while this pair is slowed down: an attacker elsewhere cannot lock a user out.
        """
        wait = self.auth.wait_seconds(login, ip)
        if wait > 0:  # said before any thread is taken
            checked = PasswordCheck(False, wait)
        else:
            try:
                checked = await asyncio.get_running_loop().run_in_executor(
                    self.pool, check_password, self.auth, rt.directory.authenticate, login,
                    password, ip)
            except DirectoryUnavailable:
                self.metrics.child(self.metrics.directory_lookups, "unavailable").inc()
                return Identified(None, UNAVAILABLE)
        if checked.throttled:
            self.metrics.child(self.metrics.directory_lookups, "throttled").inc()
            return Identified(None, refusal(
                "identity.throttled",
                f"Muitas senhas erradas: tente de novo em {max(1, round(checked.wait))} s"), True)
        self.metrics.child(self.metrics.directory_lookups,
                           "bind_ok" if checked.ok else "bind_fail").inc()
        if not checked.ok:
            return Identified(None, refusal("identity.bad_credentials",
                                            "Usuário ou senha incorretos"), True)
        return None

    async def _check_ticket(self, acceptor: Acceptor, value: str, ip: str) -> str | Identified:
        """The login a Kerberos token proves, or the refusal (with a challenge to retry)."""
        try:
            token = decode_token(value)
            login = await asyncio.get_running_loop().run_in_executor(
                self.pool, acceptor.accept, token)
        except TicketRefused as exc:
            self.metrics.child(self.metrics.directory_lookups, "ticket_refused").inc()
            log.warning("guarita: Kerberos token from %s refused: %s", ip, exc)
            return Identified(None, refusal(
                "identity.bad_ticket",
                "Bilhete Kerberos recusado: entre de novo no computador ou use usuário e senha"),
                True)
        self.metrics.child(self.metrics.directory_lookups, "ticket_ok").inc()
        return login

    @staticmethod
    def _needs_directory_io(rt: Runtime, login: str | None, ip: str) -> bool:
        who = login or rt.snapshot.sessions.get(ip)
        if not who:
            return False
        return not rt.directory.peek(who)

    def done(self) -> None:
        self.pool.shutdown(wait=False)
