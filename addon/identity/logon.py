"""A small HTTP endpoint where logon and logoff scripts announce who sits at which machine.

A Windows logon script runs on the machine itself, so by default the session is
recorded for the address the announcement comes from; a script on a management
host may name the machine with `ip=`. Every call carries a shared token
(`Authorization: Bearer ...`, compared in constant time); without one
configured the endpoint refuses to start rather than accept anyone's claim.
Sessions announced here expire after `ttl` seconds unless announced again, so a
machine that crashed without a logoff does not keep its user for ever.

It runs on its own port and its own threads: a slow directory lookup here never
touches mitmproxy's event loop, and the port can be firewalled apart from the
proxy's.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from addon.errors import DirectoryUnavailable, GuaritaError, UnknownUser
from addon.identity.directory import Directory
from addon.state import db, sessions

log = logging.getLogger("guarita.logon")

MAX_BODY = 4096
MIN_TOKEN = 16
OPERATOR = "logon-endpoint"


def read_token(env_value: str | None, token_file: str | None) -> str:
    """The shared token from a file (preferred) or the environment; GuaritaError if unusable."""
    token = None
    if token_file:
        try:
            token = Path(token_file).read_text().strip()
        except OSError as exc:
            raise GuaritaError(f"session token file {token_file}: {exc.strerror}") from exc
    elif env_value:
        token = env_value.strip()
    if not token:
        raise GuaritaError("the session endpoint needs a shared token: set GUARITA_SESSION_TOKEN "
                           "or guarita_session_token_file")
    if len(token) < MIN_TOKEN:
        raise GuaritaError(f"the session token must have at least {MIN_TOKEN} characters")
    return token


class LogonEndpoint:
    """POST /login (user, optional ip) and POST /logout (optional ip); GET /health."""

    def __init__(self, host: str, port: int, token: str, state_dir: Path,
                 directory: Callable[[], Directory], ttl: float = 12 * 3600) -> None:
        self.token = token.encode()
        self.state_dir = state_dir
        self.directory = directory  # a callable: the policy (and its directory) may be reloaded
        self.ttl = ttl
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "guarita-logon"
            sys_version = ""

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass  # one line per outcome is logged below; no per-request access log

            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/health":
                    self._answer(200, "ok")
                else:
                    self._answer(404, "not found")

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
                    pairs = urllib.parse.parse_qsl(raw, strict_parsing=bool(raw),
                                                   max_num_fields=8)
                except ValueError:
                    return None
                return dict(pairs)

            def _answer(self, status: int, text: str) -> None:
                body = (text + "\n").encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, name="guarita-logon",
                                        daemon=True)

    def start(self) -> LogonEndpoint:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, path: str, authorization: str | None, form: dict[str, str] | None,
               peer: str) -> tuple[int, str]:
        """(HTTP status, one line) for one announcement; never raises."""
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(),
                                                                   self.token):
            log.warning("guarita: session endpoint: bad or missing token from %s", peer)
            return 401, "bad or missing token"
        if form is None:
            return 400, "malformed form body"
        try:
            ip = sessions.canonical_ip(form.get("ip") or peer)
            conn = db.connect(self.state_dir)
            try:
                if path == "/login":
                    user = (form.get("user") or "").strip().lower()
                    if not user:
                        return 400, "missing user"
                    self.directory().lookup(user)  # an unknown login is refused, not recorded
                    sessions.login(conn, user, ip, time.time() + self.ttl, OPERATOR,
                                   source="endpoint")
                    log.info("guarita: session %s at %s (logon script)", user, ip)
                    return 200, f"{user} logged in at {ip}"
                if path == "/logout":
                    gone = sessions.logout(conn, ip, OPERATOR, source="endpoint")
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
        except Exception as exc:  # a logon script must get an answer, the server must live on
            log.error("guarita: session endpoint: %s", exc)
            return 500, "internal error"
