"""Proxy-Authorization: Basic, checked against the directory, cached, and rate-limited.

A verified password is remembered by a salted hash (never the password) for
`ttl` seconds, so the directory is asked once per user per TTL, not once per
request. Failures are counted per user and per client address; past the limit
both are refused for `lockout` seconds without asking the directory (brute force).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field


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
    max_failures: int = 5
    lockout: float = 300.0
    _salt: bytes = field(default_factory=lambda: secrets.token_bytes(16))
    _ok: dict[tuple[str, bytes], float] = field(default_factory=dict)
    _fail: dict[str, tuple[int, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _key(self, login: str, password: str) -> tuple[str, bytes]:
        return login, hashlib.sha256(self._salt + login.encode() + b"\0" + password.encode()).digest()

    def verified(self, login: str, password: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        until = self._ok.get(self._key(login, password))
        return until is not None and until > now

    def locked(self, login: str, client_ip: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        for k in (f"u:{login}", f"ip:{client_ip}"):
            count, until = self._fail.get(k, (0, 0.0))
            if count >= self.max_failures and until > now:
                return True
        return False

    def success(self, login: str, password: str, client_ip: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._ok) > 100_000:
                self._ok = {k: v for k, v in self._ok.items() if v > now}
            self._ok[self._key(login, password)] = now + self.ttl
            self._fail.pop(f"u:{login}", None)

    def failure(self, login: str, client_ip: str) -> None:
        now = time.monotonic()
        with self._lock:
            for k in (f"u:{login}", f"ip:{client_ip}"):
                count, until = self._fail.get(k, (0, 0.0))
                if until <= now:
                    count = 0
                self._fail[k] = (count + 1, now + self.lockout)
