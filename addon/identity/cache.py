"""A caching, coalescing, stale-tolerant front for a directory.

Answers are kept `ttl` seconds ("no such user" only `negative_ttl`). Concurrent
misses for one login make one directory call (a per-login lock). When the
directory is down, a cached answer younger than `stale_age` is served; with
nothing cached the caller gets DirectoryUnavailable and fails closed. Recovery
needs nothing: the next miss asks the directory again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from addon.errors import DirectoryUnavailable, UnknownUser
from addon.identity.directory import Contact, Directory, Entry


class CachedDirectory:
    def __init__(self, inner: Directory, ttl: float = 300, negative_ttl: float = 30,
                 stale_age: float = 3600, clock: Callable[[], float] = time.monotonic) -> None:
        self.inner = inner
        self.ttl, self.negative_ttl, self.stale_age = ttl, negative_ttl, stale_age
        self._clock = clock
        self._cache: dict[str, tuple[float, Entry | None]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.stats = {"lookups": 0, "hits": 0, "stale": 0, "unavailable": 0}
        self.on_event: Callable[[str], None] | None = None

    def _event(self, kind: str) -> None:
        self.stats[kind] += 1
        if self.on_event is not None:
            self.on_event(kind)

    def peek(self, login: str) -> bool:
        """True when a fresh answer is cached: the caller may ask without blocking."""
        hit = self._cache.get(login.strip().lower())
        if hit is None:
            return False
        ttl = self.ttl if hit[1] is not None else self.negative_ttl
        return self._clock() - hit[0] < ttl

    def _fresh(self, login: str) -> Entry | None:
        at, entry = self._cache[login]
        if entry is None:
            raise UnknownUser(f"unknown user {login!r} (not in the directory)")
        return entry

    def lookup(self, login: str) -> Entry:
        login = login.strip().lower()
        if self.peek(login):
            self._event("hits")
            return self._fresh(login)  # type: ignore[return-value]
        with self._guard:
            lock = self._locks.setdefault(login, threading.Lock())
        with lock:  # coalesce: whoever waited here finds the answer cached
            if self.peek(login):
                self._event("hits")
                return self._fresh(login)  # type: ignore[return-value]
            self._event("lookups")
            try:
                entry = self.inner.lookup(login)
            except UnknownUser:
                self._cache[login] = (self._clock(), None)
                raise
            except DirectoryUnavailable:
                self._event("unavailable")
                old = self._cache.get(login)
                if old is not None and old[1] is not None and self._clock() - old[0] < self.stale_age:
                    self._event("stale")
                    return old[1]
                raise
            self._cache[login] = (self._clock(), entry)
            return entry

    def authenticate(self, login: str, password: str) -> bool:
        return self.inner.authenticate(login, password)

    def contact(self, login: str) -> Contact:
        """Not cached: notifications are rare, and an address changed today should be used."""
        return self.inner.contact(login)

    def staff(self, chief: str) -> frozenset[str]:
        return self.inner.staff(chief)

    def password_stamp(self, login: str) -> str | None:
        """Not cached: it is asked to notice a change."""
        return self.inner.password_stamp(login)

    def watch(self, event: Callable[[str], None]) -> None:
        self.on_event = event
