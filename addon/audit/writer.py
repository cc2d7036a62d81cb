"""The audit writer: the request path appends to a deque; one thread batches into SQLite
(`addon/audit/sqlite.py`), or into PostgreSQL with COPY (`addon/audit/pg.py`) when the
nodes share one log.

`submit` is a deque append (tens of nanoseconds) and never waits: it tells the
caller when the queue is over `max_queue`, and the caller slows down (the proxy
awaits `has_room` without blocking its event loop); a record is never dropped. Every
`flush_interval`, or as soon as `min_batch` records wait, the thread writes what
is queued, in transactions of up to `max_batch` records. Batches grow by
themselves when the disk falls behind: the cost of a transaction is dominated by
the index pages it dirties (one per distinct user and machine), so fewer, larger
transactions are what keep up. If SQLite fails (disk full, read-only, locked)
the batch stays queued, the problem is logged once, and the write is retried
until it succeeds or the writer stops. A record SQLite cannot take (a type it does
not know) is written field by field as text rather than lost, and any other
failure restarts the thread (counted in `restarts`, logged): nothing a client
sends can stop the log. After kill -9 at most one flush interval of records is
lost (WAL, NORMAL sync), unless the disk had already fallen behind.
"""

from __future__ import annotations

import collections
import itertools
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from addon.audit.sealer import Sealer
from addon.audit.sqlite import SqliteSink
from addon.errors import StateError
from addon.store.seam import StoreError
from addon.store.url import redact

if TYPE_CHECKING:
    from addon.audit.pg import PgSink

log = logging.getLogger("guarita.audit")
Record = tuple[object, ...]
ANALYZE_EVERY = 3600.0


def open_sink(target: Path | str) -> SqliteSink | PgSink:
    """A SQLite file's sink, or PostgreSQL's for a postgresql:// URL."""
    if isinstance(target, str):
        from addon.audit.pg import PgSink

        return PgSink(target)
    return SqliteSink(target)


class AuditWriter:
    def __init__(self, path: Path | str, flush_interval: float = 0.1, max_batch: int = 50_000,
                 max_queue: int = 200_000, min_batch: int = 5000,
                 on_batch: Callable[[int, float], None] | None = None,
                 on_error: Callable[[str], None] | None = None,
                 sealer: Sealer | None = None) -> None:
        self.path = path
        self.sealer = sealer or Sealer()  # every batch sealed; signed when it has a key
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
        self.restarts = 0  # times the writer thread failed and was started again
        self.coerced = 0  # records SQLite refused as they were, stored as text
        self.last_error: str | None = None
        self._on_batch = on_batch
        self._on_error = on_error
        self._sink: SqliteSink | PgSink | None = None
        self.where = redact(path) if isinstance(path, str) else str(path)
        # statistics whenever the log has doubled since the last time (from 1,000 records
        # up), and at least hourly: cheap, and the planner keeps up with a growing table
        self._analyzed, self._analyzed_at = time.monotonic(), 1000
        self._thread = threading.Thread(target=self._supervise, name="guarita-audit", daemon=True)
        self._thread.start()

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def submit(self, record: Record) -> bool:
        """Queue one record, at once; False when the queue is over its bound (slow down)."""
        q = self._queue
        q.append(record)
        n = len(q)
        if n == self.min_batch:
            self._wake.set()  # a few thousand waiting: write now rather than at the interval
        if n < self.max_queue:
            return True
        self.backpressure_waits += 1
        self._wake.set()
        return False

    @property
    def stopped(self) -> bool:
        return self._stop or not self._thread.is_alive()

    def has_room(self) -> bool:
        return len(self._queue) < self.max_queue

    def put(self, record: Record, timeout: float | None = None) -> None:
        """`submit` for plain threads (CLI, benchmarks): waits while the queue is full."""
        if self.submit(record):
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._room:
            while not self.has_room() and self._thread.is_alive():
                if deadline is not None and time.monotonic() >= deadline:
                    return
                self._room.wait(0.05)

    def _connect(self) -> SqliteSink | PgSink:
        if self._sink is None:
            self._sink = open_sink(self.path)
        return self._sink

    def _disconnect(self) -> None:
        """Drop the connection after a failure: the next attempt opens (and checks) a new one."""
        if self._sink is not None:
            try:
                self._sink.close()
            except StoreError:
                pass
            self._sink = None

    def _flush_once(self) -> bool:
        """Write up to one batch; False (records kept) if SQLite refused."""
        q = self._queue
        n = min(len(q), self.max_batch)
        if n == 0:
            return True
        batch = list(itertools.islice(q, n))
        started = time.perf_counter()
        try:
            sealed = self._connect().write(batch, self._coerced, self.sealer)
        except (StoreError, OSError, StateError) as exc:  # StateError: cannot make the schema
            message = f"audit log {self.where}: cannot write ({exc}); {len(q)} records wait, retrying"
            if message.split(";")[0] != (self.last_error or "").split(";")[0]:
                log.error(message)
                if self._on_error:
                    self._on_error(message)
            self.last_error = message
            self._disconnect()
            return False
        if self.last_error:  # before the queue empties: whoever sees it empty sees no error
            log.warning("audit log %s: writing again, backlog cleared", self.where)
            self.last_error = None
        self.sealer.committed(sealed)
        for _ in range(n):
            q.popleft()
        self.written += n
        if (self.written >= 2 * self._analyzed_at or
                time.monotonic() - self._analyzed > ANALYZE_EVERY):
            self._analyze()
        if self._on_batch:
            self._on_batch(n, time.perf_counter() - started)
        with self._room:
            self._room.notify_all()
        return True

    def _coerced(self, exc: Exception) -> None:
        log.error("audit log %s: a record could not be stored as it was (%s); stored as text",
                  self.where, exc)
        self.coerced += 1

    def _checkpoint(self) -> None:
        """Sign the chain's head; a failure waits for the next round (the seals are there)."""
        try:
            self.sealer.checkpoint(self._connect().conn)
        except (StoreError, OSError, StateError) as exc:
            self.sealer.signed_at = time.monotonic()  # tried: the next attempt in a minute
            log.warning("audit log %s: checkpoint not signed (%s); trying again", self.where, exc)

    def _analyze(self) -> None:
        self._analyzed, self._analyzed_at = time.monotonic(), max(self.written, 1000)
        try:
            self._connect().analyze()
        except StoreError as exc:
            log.warning("audit log %s: statistics not refreshed (%s)", self.where, exc)

    def _supervise(self) -> None:
        """Run the writer loop; whatever kills it, count it, say it, and start it again."""
        while True:
            try:
                self._run()
                return
            except Exception as exc:  # noqa: BLE001 - the log must outlive any bug
                self.restarts += 1
                log.error("audit log %s: writer failed (%s: %s); restarting it, %d records wait",
                          self.where, type(exc).__name__, exc, len(self._queue))
                if self._on_error:
                    self._on_error(f"writer restarted: {exc}")
                self._disconnect()
                time.sleep(min(0.05 * self.restarts, 1.0))

    def _run(self) -> None:
        backoff = self.flush_interval
        while True:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            if self.sealer.due():
                self._checkpoint()
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
                self._checkpoint()  # a graceful stop signs what it wrote
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
        if self._sink is not None:
            self._sink.close()
            self._sink = None
        self.sealer.close()
        left = len(self._queue)
        if left:
            log.error("audit log %s: %d records could not be written", self.where, left)
        return left
