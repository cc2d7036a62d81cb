"""The audit writer: the request path appends to a deque; one thread batches into SQLite.

`submit` is a deque append (tens of nanoseconds) unless the queue is full, when
the caller waits (back-pressure): a record is never dropped. Every
`flush_interval`, or as soon as `min_batch` records wait, the thread writes what
is queued, in transactions of up to `max_batch` records. Batches grow by
themselves when the disk falls behind: the cost of a transaction is dominated by
the index pages it dirties (one per distinct user and machine), so fewer, larger
transactions are what keep up. If SQLite fails (disk full, read-only, locked)
the batch stays queued, the problem is logged once, and the write is retried
until it succeeds or the writer stops. After kill -9 at most one flush interval
of records is lost (WAL, NORMAL sync), unless the disk had already fallen behind.
"""

from __future__ import annotations

import collections
import itertools
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from addon.audit.schema import INSERT, open_audit

log = logging.getLogger("guarita.audit")
Record = tuple[object, ...]
ANALYZE_EVERY = 3600.0


class AuditWriter:
    def __init__(self, path: Path, flush_interval: float = 0.1, max_batch: int = 50_000,
                 max_queue: int = 200_000, min_batch: int = 5000,
                 on_batch: Callable[[int, float], None] | None = None,
                 on_error: Callable[[str], None] | None = None) -> None:
        self.path = path
        self.flush_interval = flush_interval
        self.max_batch = max_batch
        self.max_queue = max_queue
        self.min_batch = min_batch
        self._queue: collections.deque[Record] = collections.deque()
        self._wake = threading.Event()
        self._room = threading.Condition()
        self._stop = False
        self.written = 0
        self.backpressure_waits = 0
        self.last_error: str | None = None
        self._on_batch = on_batch
        self._on_error = on_error
        self._conn: sqlite3.Connection | None = None
        # statistics whenever the log has doubled since the last time (from 1,000 records
        # up), and at least hourly: cheap, and the planner keeps up with a growing table
        self._analyzed, self._analyzed_at = time.monotonic(), 1000
        self._thread = threading.Thread(target=self._run, name="guarita-audit", daemon=True)
        self._thread.start()

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def submit(self, record: Record) -> None:
        """Queue one record; waits only while the queue is full (back-pressure)."""
        if len(self._queue) >= self.max_queue:
            self.backpressure_waits += 1
            self._wake.set()
            with self._room:
                while len(self._queue) >= self.max_queue and self._thread.is_alive():
                    self._room.wait(0.05)
        self._queue.append(record)
        if len(self._queue) == self.min_batch:
            self._wake.set()  # a few thousand waiting: write now rather than at the interval

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = open_audit(self.path)
        return self._conn

    def _flush_once(self) -> bool:
        """Write up to one batch; False (records kept) if SQLite refused."""
        q = self._queue
        n = min(len(q), self.max_batch)
        if n == 0:
            return True
        batch = list(itertools.islice(q, n))
        started = time.perf_counter()
        try:
            conn = self._connect()
            with conn:
                conn.executemany(INSERT, batch)
        except (sqlite3.Error, OSError) as exc:
            message = f"audit log {self.path}: cannot write ({exc}); {len(q)} records wait, retrying"
            if message.split(";")[0] != (self.last_error or "").split(";")[0]:
                log.error(message)
                if self._on_error:
                    self._on_error(message)
            self.last_error = message
            if self._conn is not None:
                try:
                    self._conn.close()
                except sqlite3.Error:
                    pass
                self._conn = None
            return False
        for _ in range(n):
            q.popleft()
        if self.last_error:
            log.warning("audit log %s: writing again, backlog cleared", self.path)
            self.last_error = None
        self.written += n
        if (self.written >= 2 * self._analyzed_at or
                time.monotonic() - self._analyzed > ANALYZE_EVERY):
            self._analyze()
        if self._on_batch:
            self._on_batch(n, time.perf_counter() - started)
        with self._room:
            self._room.notify_all()
        return True

    def _analyze(self) -> None:
        """Refresh the planner's statistics (bounded sampling: milliseconds on any size).

        Without them SQLite answers "report by user since yesterday" by walking the whole
        user index (3 s on 10 million rows) instead of the day's slice of the time index.
        """
        self._analyzed, self._analyzed_at = time.monotonic(), max(self.written, 1000)
        try:
            conn = self._connect()
            conn.execute("PRAGMA analysis_limit=1000")
            conn.execute("ANALYZE")
            conn.commit()
        except sqlite3.Error as exc:
            log.warning("audit log %s: statistics not refreshed (%s)", self.path, exc)

    def _run(self) -> None:
        backoff = self.flush_interval
        while True:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            while self._queue:
                if not self._flush_once():
                    if self._stop and backoff >= 5.0:
                        return  # stopping and the database still refuses: close() reports it
                    time.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    break
                backoff = self.flush_interval
                if len(self._queue) < self.min_batch and not self._stop:
                    break  # a small remainder waits for the next interval: fewer transactions
            if self._stop and not self._queue:
                return

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is written (tests, graceful stop)."""
        deadline = time.monotonic() + timeout
        while self._queue and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.01)
        return not self._queue

    def close(self, timeout: float = 30.0) -> int:
        """Write everything queued, then stop; returns records still unwritten (0 normally)."""
        self._stop = True
        self._wake.set()
        self._thread.join(timeout)
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        left = len(self._queue)
        if left:
            log.error("audit log %s: %d records could not be written", self.path, left)
        return left
