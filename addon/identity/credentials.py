"""Proxy-Authorization: Basic, checked against the directory, cached, and slowed down.

A verified password is remembered by a salted hash (never the password) for
`ttl` seconds, so the directory is asked once per user per TTL, not once per
request. Wrong passwords are slowed down per (login, client address) pair:
after `free_failures` of them, that pair must wait 1 s, then 2, 4, ... up to
`max_delay` before the directory is asked again. The pair, not the login:
an attacker elsewhere cannot lock the real user out, and a password that was
verified before is accepted even while its pair waits.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_PAIRS = 100_000  # failure records kept; the oldest go first past this


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """(login, password) from a `Basic` credential, or None if absent or malformed."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        text = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    login, sep, password = text.partition(":")
    if not sep or not login.strip():
        return None
    return login.strip().lower(), password


@dataclass
class AuthCache:
    ttl: float = 300.0
    free_failures: int = 5
    max_delay: float = 300.0
    _salt: bytes = field(default_factory=lambda: secrets.token_bytes(16))
    _ok: dict[tuple[str, bytes], float] = field(default_factory=dict)
    _fail: dict[tuple[str, str], tuple[int, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _key(self, login: str, password: str) -> tuple[str, bytes]:
        digest = hashlib.sha256(self._salt + login.encode("utf-8", "surrogateescape") + b"\0"
                                + password.encode("utf-8", "surrogateescape")).digest()
        return login, digest

    def verified(self, login: str, password: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        until = self._ok.get(self._key(login, password))
        return until is not None and until > now

    def wait_seconds(self, login: str, client_ip: str, now: float | None = None) -> float:
        """How long this pair must wait before a new password is tried (0: now)."""
        now = time.monotonic() if now is None else now
        _, not_before = self._fail.get((login, client_ip), (0, 0.0))
        return max(0.0, not_before - now)

    def success(self, login: str, password: str, client_ip: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._ok) > MAX_PAIRS:
                self._ok = {k: v for k, v in self._ok.items() if v > now}
            self._ok[self._key(login, password)] = now + self.ttl
            self._fail.pop((login, client_ip), None)

    def failure(self, login: str, client_ip: str, now: float | None = None) -> float:
        """Count a wrong password; returns the delay the pair now has to wait."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._fail) >= MAX_PAIRS:
                for k in list(self._fail)[: MAX_PAIRS // 10]:  # oldest first (insertion order)
                    del self._fail[k]
            count, _ = self._fail.pop((login, client_ip), (0, 0.0))
            count += 1
            over = count - self.free_failures
            delay = 0.0 if over < 0 else min(self.max_delay, 2.0 ** over)
            self._fail[(login, client_ip)] = (count, now + delay)
            return delay


@dataclass(frozen=True)
class PasswordCheck:
    """What checking one password said: `ok`, or `wait` seconds to go (the brake), or wrong."""

    ok: bool
    wait: float = 0.0

    @property
    def throttled(self) -> bool:
        return self.wait > 0


def check_password(brake: AuthCache, authenticate: Callable[[str, str], bool], login: str,
                   password: str, client_ip: str) -> PasswordCheck:
    """The one password check of every door (the proxy's authentication, the console's
    sign-in, the API's Basic): the brake first, then the directory's bind, then the count.

    An empty login or password is wrong without asking the directory; DirectoryUnavailable
    passes through (each door fails closed in its own words) and counts as nothing.
    """
    wait = brake.wait_seconds(login, client_ip)
    if wait > 0:
        return PasswordCheck(False, wait)
    if login and password and authenticate(login, password):
        brake.success(login, password, client_ip)
        return PasswordCheck(True)
    brake.failure(login, client_ip)
    return PasswordCheck(False)
