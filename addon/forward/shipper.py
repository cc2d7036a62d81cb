"""One target's forwarding: read what is committed after its position, send it, and move
the position only once the receiver is known to have stayed.

Never on the request path: this runs on a thread of its own and reads the databases the
writer already committed to; the audit log itself is the spool, so a receiver that stays
away costs no memory and no disk beyond the log (the retention bounds it), and the backlog
drains in order when it is back. What was sent is taken as received once the connection
was still open `settle` seconds later; a connection found closed resends everything since
the last position so taken (at least once: the receiver drops duplicates by id).
"""

from __future__ import annotations

import collections
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from addon.forward import source
from addon.forward.formats import Shape, local_hostname, message
from addon.forward.transport import ForwardError, Link
from addon.settings.forward import FACILITIES, ForwardTarget
from addon.state import positions
from addon.store.seam import Connection

log = logging.getLogger("guarita.forward")
SETTLE = 1.0  # seconds a connection must stay open before what it carried counts as sent
SAVE_EVERY = 5.0  # seconds between saves of the position (a restart resends at most these)
MAX_BACKOFF = 60.0
WARN_EVERY = 600.0  # seconds between lines saying how far behind a target is
ROUND_BUDGET = 0.5  # seconds of sending per round, so one target never starves the others


def shape_of(target: ForwardTarget, env: dict[str, str] | None = None) -> Shape:
    """The target's Shape, its pseudonymisation key read now (ForwardError if it cannot be)."""
    key = None
    p = target.pseudonymise
    if p is not None:
        if p.key_env is not None:
            value = (os.environ if env is None else env).get(p.key_env, "")
            if not value:
                raise ForwardError(f"forward {target.name}: pseudonymise.key_env: the variable "
                                   f"{p.key_env} is not set: nothing is sent without the key")
            key = value.encode()
        else:
            assert p.key_file is not None
            try:
                key = Path(p.key_file).read_bytes().strip()
            except OSError as exc:
                raise ForwardError(f"forward {target.name}: pseudonymise.key_file: cannot read "
                                   f"{p.key_file}: {exc.strerror or exc}") from exc
            if not key:
                raise ForwardError(f"forward {target.name}: pseudonymise.key_file {p.key_file} "
                                   "is empty")
    return Shape(format=target.format,
                 fields=None if target.fields is None else frozenset(target.fields),
                 hash_key=key, hashed=frozenset(p.fields) if p is not None else frozenset(),
                 facility=FACILITIES[target.facility], hostname=local_hostname())


@dataclass
class Sent:
    audit: int
    admin: int
    at: float


class Shipper:
    def __init__(self, target: ForwardTarget, shape: Shape,
                 connect: Callable[[ForwardTarget], Link] = Link,
                 on_sent: Callable[[str, int], None] = lambda kind, n: None,
                 on_error: Callable[[str], None] = lambda line: None,
                 clock: Callable[[], float] = time.monotonic, settle: float = SETTLE) -> None:
        self.target, self.shape = target, shape
        self._connect, self._on_sent, self._on_error = connect, on_sent, on_error
        self.clock, self.settle = clock, settle
        self.link: Link | None = None
        self.position: tuple[int, int] | None = None  # what the receiver is taken to have
        self.cursor: tuple[int, int] = (0, 0)  # what has been sent
        self.inflight: collections.deque[Sent] = collections.deque()
        self.retry_at = 0.0
        self.backoff = 0.0
        self.down: str | None = None  # why the receiver cannot be reached, while it cannot
        self.behind = 0
        self._saved: tuple[float, tuple[int, int]] | None = None
        self._warned = -WARN_EVERY

    # -------------------------------------------------------------- position
    def start(self, audit: Connection | None, state: Connection) -> None:
        """Adopt the saved position; a new target starts at the end of the log (or at its
        beginning with `backfill`), and says so."""
        if self.position is not None:
            return
        saved = positions.read(state, self.target.name)
        if saved is None:
            end = (0, 0) if self.target.backfill else (
                source.last_id(audit, "audit") if audit is not None else 0,
                source.last_id(state, "admin_log"))
            positions.save(state, self.target.name, *end)
            log.info("forward %s: new target, starting %s", self.target.name,
                     "at the log's first record" if self.target.backfill
                     else f"after audit record {end[0]} and admin operation {end[1]}")
            saved = end
        self.position = self.cursor = saved
        self._saved = (self.clock(), saved)

    def save(self, state: Connection, force: bool = False) -> None:
        if self.position is None or self._saved is None:
            return
        at, saved = self._saved
        if self.position != saved and (force or self.clock() - at >= SAVE_EVERY):
            positions.save(state, self.target.name, *self.position)
            self._saved = (self.clock(), self.position)

    # -------------------------------------------------------------- failures
    def _failed(self, why: str) -> None:
        """The receiver is away or went away: resend from the position, later."""
        if self.link is not None:
            self.link.close()
            self.link = None
        assert self.position is not None
        self.cursor = self.position
        self.inflight.clear()
        self.backoff = min(max(self.backoff * 2, 1.0), MAX_BACKOFF)
        self.retry_at = self.clock() + self.backoff
        if why != self.down:  # one line per kind of trouble, not one per retry
            log.warning("%s; retrying (in %.0f s, then backing off to %.0f s), resending from "
                        "audit record %d", why, self.backoff, MAX_BACKOFF, self.position[0])
            self._on_error(why)
        self.down = why

    def _connected(self) -> bool:
        if self.link is not None:
            if self.link.alive():
                return True
            self._failed(f"forward {self.target.name}: the receiver closed the connection")
            self.retry_at = self.clock()  # a closed connection is reopened at once, once
        if self.clock() < self.retry_at:
            return False
        try:
            self.link = self._connect(self.target)
        except ForwardError as exc:
            self._failed(str(exc))
            return False
        if self.down is not None:
            log.info("forward %s: receiver reachable again, sending from audit record %d",
                     self.target.name, self.cursor[0])
        self.down, self.backoff = None, 0.0
        return True

    # -------------------------------------------------------------- a round
    def _settled(self) -> None:
        now = self.clock()
        while self.inflight and now - self.inflight[0].at >= self.settle:
            done = self.inflight.popleft()
            self.position = (done.audit, done.admin)

    def round(self, audit: Connection | None, state: Connection) -> int:
        """Send what waits, within a time budget; returns how many messages were sent."""
        self.start(audit, state)
        self._rewound(audit, state)
        sent = 0
        if self._connected():
            self._settled()
            sent = self._send(audit, state)
        self.save(state)
        self._measure(audit, state)
        return sent

    def _rewound(self, audit: Connection | None, state: Connection) -> None:
        """A log whose ids went back (emptied by the retention, so SQLite counts from 1
        again, or restored from a backup) is sent from its start rather than skipped."""
        assert self.position is not None
        last = (source.last_id(audit, "audit") if audit is not None else 0,
                source.last_id(state, "admin_log"))
        if last[0] >= self.position[0] and last[1] >= self.position[1]:
            return
        kept = tuple(0 if now < had else had for now, had in zip(last, self.position,
                                                                  strict=True))
        log.warning("forward %s: the log's ids went back (it was emptied or restored): "
                    "sending from audit record %d and admin operation %d", self.target.name,
                    *kept)
        self.position = self.cursor = (kept[0], kept[1])
        self.inflight.clear()
        positions.save(state, self.target.name, *self.position)
        self._saved = (self.clock(), self.position)

    def _send(self, audit: Connection | None, state: Connection) -> int:
        assert self.link is not None
        t, sent, deadline = self.target, 0, self.clock() + ROUND_BUDGET
        while self.clock() < deadline:
            a_pos, m_pos = self.cursor
            admin = source.admin_after(state, m_pos, t.batch) if t.admin else []
            records = source.audit_after(audit, a_pos, t.batch) if audit is not None else []
            if not admin and not records:
                break
            data = b"".join([*(message("admin", r, self.shape) for r in admin),
                             *(message("audit", r, self.shape) for r in records)])
            try:
                self.link.send(data)
            except ForwardError as exc:
                self._failed(str(exc))
                break
            self.cursor = (records[-1]["id"] if records else a_pos,
                           admin[-1]["id"] if admin else m_pos)
            self.inflight.append(Sent(*self.cursor, self.clock()))
            sent += len(admin) + len(records)
            if admin:
                self._on_sent("admin", len(admin))
            if records:
                self._on_sent("audit", len(records))
            if len(admin) < t.batch and len(records) < t.batch:
                break
        return sent

    def _measure(self, audit: Connection | None, state: Connection) -> None:
        if self.position is None:
            return
        last = source.last_id(audit, "audit") if audit is not None else 0
        admin = source.last_id(state, "admin_log") if self.target.admin else self.position[1]
        self.behind = max(0, last - self.position[0]) + max(0, admin - self.position[1])
        now = self.clock()
        if self.behind >= self.target.warn_behind and now - self._warned >= WARN_EVERY:
            self._warned = now
            log.warning("forward %s: %d records behind%s; they wait in the audit log (nothing "
                        "is dropped; the retention bounds it)", self.target.name, self.behind,
                        f" ({self.down})" if self.down else "")

    # -------------------------------------------------------------- stopping
    def drain(self, audit: Connection | None, state: Connection,
              timeout: float) -> bool:
        """At a graceful stop: send everything committed, wait until it counts as received,
        save the position. False if the receiver could not take it all in `timeout`."""
        deadline = self.clock() + timeout
        while self.clock() < deadline:
            self.round(audit, state)
            caught_up = self.cursor[0] >= (source.last_id(audit, "audit") if audit else 0) and (
                not self.target.admin or self.cursor[1] >= source.last_id(state, "admin_log"))
            if caught_up and self.link is not None and not self.inflight:
                break
            if caught_up and self.inflight:
                time.sleep(min(self.settle, max(0.0, deadline - self.clock())) / 4 or 0.01)
            elif not caught_up and self.link is None:
                time.sleep(0.05)
        self.save(state, force=True)
        done = self.position == self.cursor and self.link is not None
        if self.link is not None:
            self.link.close()
            self.link = None
        return done
