"""A small HTTP endpoint where logon sources announce who sits at which machine.

Who is asking decides which level applies, so an announcement is only as good as
its source. Each source has its own token and scope (policy `logon.sources`):
a *collector* (the domain controller's logon-event forwarder) may announce any
login at any address; a *workstation* (a logon script) only at the address its
call comes from, never another (`ip=` is refused). The login must exist in the
directory. Tokens are read from their file or variable at every call, so
rotating one needs no restart; a wrong token is answered slowly and counted.
A different login announced for an address that holds a live session from
another source is recorded as a possible identity evasion (Art. 18 IX); the
policy says which source wins. The legacy single token (GUARITA_SESSION_TOKEN,
`guarita_session_token_file`) is a workstation source.

It runs on its own port and its own threads, with a socket timeout and a bound
on concurrent calls, so neither a slow client nor a flood reaches the proxy.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from addon.errors import DirectoryUnavailable, GuaritaError, UnknownUser
from addon.identity.directory import Directory
from addon.policy.hosts import canonical_ip
from addon.policy.model import LogonSource
from addon.policy.paths import Paths
from addon.state import db, history, sessions
from addon.store import ready

log = logging.getLogger("guarita.logon")

MAX_BODY = 4096
MIN_TOKEN = 16
OPERATOR = "logon-endpoint"
LEGACY = "legacy"


@dataclass(frozen=True)
class Source:
    name: str
    scope: str  # collector | workstation
    token: bytes


def read_token(env_value: str | None, token_file: str | None) -> str:
    """A token from a file (preferred) or the environment; GuaritaError if unusable."""
    token = None
    if token_file:
        try:
            token = Path(token_file).read_text().strip()
        except OSError as exc:
            raise GuaritaError(f"session token file {token_file}: {exc.strerror}") from exc
    elif env_value:
        token = env_value.strip()
    if not token:
        raise GuaritaError("the session endpoint needs a token: set GUARITA_SESSION_TOKEN, "
                           "guarita_session_token_file, or logon.sources in the policy")
    if len(token) < MIN_TOKEN:
        raise GuaritaError(f"the session token must have at least {MIN_TOKEN} characters")
    return token


def current_sources(configured: tuple[LogonSource, ...], legacy_env: str | None,
                    legacy_file: str | None) -> list[Source]:
    """The sources with their tokens as they are now; an unusable one is left out, said."""
    out: list[Source] = []
    for s in configured:
        try:
            value = os.environ.get(s.token_env) if s.token_env else None
            out.append(Source(s.name, s.scope, read_token(value, s.token_file).encode()))
        except GuaritaError as exc:
            log.error("guarita: logon source %s unusable: %s", s.name, exc)
    if legacy_env or legacy_file:
        try:
            out.append(Source(LEGACY, "workstation",
                              read_token(legacy_env, legacy_file).encode()))
        except GuaritaError as exc:  # said in the log, never to the caller
            log.error("guarita: logon source %s unusable: %s", LEGACY, exc)
    return out


class LogonEndpoint:
    """POST /login (user, and ip= for a collector) and POST /logout; GET /health."""

    def __init__(self, host: str, port: int, sources: Callable[[], list[Source]],
                 state_dir: Path | Paths, directory: Callable[[], Directory], ttl: float = 12 * 3600,
                 conflicts: Callable[[], str] = lambda: "collector", max_calls: int = 32,
                 timeout: float = 10.0, slow_base: float = 0.5,
                 on_event: Callable[[str], None] | None = None) -> None:
        self.sources = sources  # callables: the policy (and the tokens) may change
        self.state_dir = state_dir
        self.directory = directory
        self.conflicts = conflicts
        self.ttl = ttl
        self.slow_base = slow_base
        self.on_event = on_event  # "bad_token", "refused", "conflict": for the metrics
        self.bad_tokens = 0  # counted for the metrics and tests
        self.refused = 0
        self._failures: dict[str, int] = {}
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "guarita-logon"
            sys_version = ""

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass  # one line per outcome is logged below; no per-request access log

            def do_GET(self) -> None:  # noqa: N802
                self._answer(*((200, "ok") if self.path == "/health" else (404, "not found")))

            def do_POST(self) -> None:  # noqa: N802
                status, text = endpoint.handle(self.path, self.headers.get("Authorization"),
                                               self._body(), self.client_address[0])
                self._answer(status, text)

            def _body(self) -> dict[str, str] | None:
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    return None
                if not 0 <= length <= MAX_BODY:
                    return None
                raw = self.rfile.read(length).decode("utf-8", "replace")
                try:
                    return dict(urllib.parse.parse_qsl(raw, strict_parsing=bool(raw),
                                                       max_num_fields=8))
                except ValueError:
                    return None

            def _answer(self, status: int, text: str) -> None:
                body = (text + "\n").encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

        Handler.timeout = timeout  # a slow client holds its thread only this long

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            calls = threading.BoundedSemaphore(max_calls)

            def process_request(self, request: Any, client_address: Any) -> None:
                if not self.calls.acquire(blocking=False):  # a flood: close, never queue
                    self.shutdown_request(request)
                    return
                super().process_request(request, client_address)

            def process_request_thread(self, request: Any, client_address: Any) -> None:
                try:
                    super().process_request_thread(request, client_address)
                finally:
                    self.calls.release()

        self.server = Server((host, port), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, name="guarita-logon",
                                        daemon=True)

    def start(self) -> LogonEndpoint:
        ready.ensure_at(self.state_dir)  # the endpoint's start: sessions need their table
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _source(self, authorization: str | None) -> Source | None:
        scheme, _, given = (authorization or "").partition(" ")
        token = given.strip().encode()
        found = None
        for s in self.sources():  # compare with every token: the time says nothing
            if hmac.compare_digest(token, s.token) and scheme.lower() == "bearer":
                found = s
        return found

    def handle(self, path: str, authorization: str | None, form: dict[str, str] | None,
               peer: str) -> tuple[int, str]:
        """(HTTP status, one line) for one announcement; never raises."""
        try:
            source = self._source(authorization)
            if source is None:
                return self._bad_token(peer)
            self._failures.pop(peer, None)
            if form is None:
                return 400, "malformed form body"
            peer_ip = canonical_ip(peer)
            ip = canonical_ip(form.get("ip") or peer_ip)
            conn = db.connect(self.state_dir)
            try:
                if source.scope == "workstation" and ip != peer_ip:
                    self.refused += 1
                    self._event("refused")
                    with conn:
                        history.record(conn, f"{OPERATOR}:{source.name}", "session.refused", ip,
                                       None, {"peer": peer_ip, "why": "workstation scope",
                                              "user": form.get("user")})
                    log.warning("guarita: logon source %s at %s tried to announce %s: refused",
                                source.name, peer_ip, ip)
                    return 403, "a workstation source announces only its own address"
                if path == "/login":
                    return self._login(conn, source, (form.get("user") or "").strip().lower(),
                                       ip)
                if path == "/logout":
                    gone = sessions.logout(conn, ip, f"{OPERATOR}:{source.name}",
                                           source=f"endpoint:{source.name}")
                    return 200, f"logged out {ip}" if gone else f"no session at {ip}"
                return 404, "not found"
            finally:
                conn.close()
        except UnknownUser as exc:
            return 404, str(exc)
        except DirectoryUnavailable as exc:
            return 503, f"directory unavailable: {exc}"
        except GuaritaError as exc:
            return 400, str(exc)
        except Exception as exc:  # noqa: BLE001 - a script gets an answer, the server lives on
            log.error("guarita: session endpoint: %s: %s", type(exc).__name__, exc)
            return 500, "internal error"

    def _event(self, kind: str) -> None:
        if self.on_event is not None:
            self.on_event(kind)

    def _bad_token(self, peer: str) -> tuple[int, str]:
        """Counted, and answered later each time: guessing a token takes forever."""
        self.bad_tokens += 1
        self._event("bad_token")
        n = self._failures[peer] = self._failures.get(peer, 0) + 1
        if len(self._failures) > 10_000:
            self._failures.clear()
        if n == 1:
            log.warning("guarita: session endpoint: bad or missing token from %s", peer)
        time.sleep(min(self.slow_base * 2 ** (n - 1), 8.0))
        return 401, "bad or missing token"

    def _login(self, conn: Any, source: Source, user: str, ip: str) -> tuple[int, str]:
        if not user:
            return 400, "missing user"
        self.directory().lookup(user)  # an unknown login is refused, not recorded
        operator = f"{OPERATOR}:{source.name}"
        now = time.time()
        row = conn.execute('SELECT "user", source, until FROM sessions WHERE ip = ?',
                           (ip,)).fetchone()
        live = row is not None and (row["until"] is None or row["until"] > now)
        if live and row["user"] != user and row["source"] != f"endpoint:{source.name}":
            scopes = {s.name: s.scope for s in self.sources()}
            holder = str(row["source"]).removeprefix("endpoint:")
            stands = (self.conflicts() == "collector" and source.scope == "workstation"
                      and scopes.get(holder) == "collector")
            self._event("conflict")
            with conn:
                history.record(conn, operator, "session.conflict", ip,
                               {"user": row["user"], "source": row["source"]},
                               {"user": user, "source": f"endpoint:{source.name}",
                                "outcome": "refused" if stands else "replaced"})
            log.warning("guarita: possible identity evasion (Art. 18 IX) at %s: %s announced "
                        "%s over %s's session (%s)", ip, source.name, user, row["user"],
                        "refused" if stands else "replaced")
            if stands:
                return 409, f"conflict recorded: {row['user']}'s session at {ip} stands"
        sessions.login(conn, user, ip, now + self.ttl, operator, source=f"endpoint:{source.name}")
        log.info("guarita: session %s at %s (logon source %s)", user, ip, source.name)
        return 200, f"{user} logged in at {ip}"
