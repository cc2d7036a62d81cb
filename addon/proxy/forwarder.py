"""Runs the SIEM forwarding (addon/forward/) on a thread of its own, never on the event loop.

Every round (a second by default) each target of the policy in force sends what was
committed since its position; a changed policy adds, changes or drops targets without a
restart. At a graceful stop, after the audit writer has written everything, each target
gets what is left and its position is saved.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from typing import Any

from mitmproxy import ctx

from addon.audit import query
from addon.errors import GuaritaError
from addon.forward.claim import Claim
from addon.forward.shipper import Shipper, shape_of
from addon.forward.transport import ForwardError
from addon.policy.model import Paths
from addon.proxy.metrics import Metrics
from addon.proxy.options import positive_number
from addon.proxy.reload import Reload
from addon.settings.forward import ForwardTarget
from addon.state import db

log = logging.getLogger("guarita.forward")
DRAIN_SECONDS = 10.0


class Forwarder:
    def __init__(self, reload: Reload, metrics: Metrics) -> None:
        self.reload = reload
        self.metrics = metrics
        self.interval = 1.0
        self.shippers: dict[str, tuple[ForwardTarget, Shipper, Claim]] = {}
        self._refused: dict[str, str] = {}  # targets that cannot start, and why (said once)
        self._paths: Paths | None = None
        self._state: sqlite3.Connection | None = None
        self._audit: sqlite3.Connection | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def load(self, loader: Any) -> None:
        loader.add_option(
            "guarita_forward_interval", str, "1",
            "Seconds between rounds of SIEM forwarding (the policy's audit.forward).")
        loader.add_option(
            "guarita_forwarder", bool, True,
            "Forward the audit log to the policy's SIEMs from this process (off in all but "
            "one of the workers of `guarita run --workers`).")

    def configure(self, updated: set[str]) -> None:
        if "guarita_forward_interval" in updated:
            self.interval = positive_number("guarita_forward_interval")

    def running(self) -> None:
        if self._thread is None and ctx.options.guarita_forwarder:
            self._thread = threading.Thread(target=self._loop, name="guarita-forward",
                                            daemon=True)
            self._thread.start()

    # ------------------------------------------------------------------ targets
    def _sync(self) -> None:
        """The shippers of the policy in force: new targets start, changed ones restart."""
        policy = self.reload.runtime.policy
        if self._paths is not None and policy.paths != self._paths:
            self._disconnect()
        self._paths = policy.paths
        wanted = {t.name: t for t in policy.audit_forward}
        for name in list(self.shippers):
            target, shipper, claim = self.shippers[name]
            if wanted.get(name) != target:
                if shipper.link is not None:
                    shipper.link.close()
                claim.release()
                del self.shippers[name]
        for name, target in wanted.items():
            if name in self.shippers:
                continue
            try:
                shape = shape_of(target)
            except ForwardError as exc:
                if self._refused.get(name) != str(exc):
                    log.error("%s", exc)
                    self._refused[name] = str(exc)
                continue
            self._refused.pop(name, None)
            shipper = Shipper(target, shape, on_sent=self._sent(name), on_error=self._error(name))
            self.shippers[name] = (target, shipper, Claim(policy.paths, name))

    def _sent(self, name: str) -> Any:
        def count(kind: str, n: int) -> None:
            self.metrics.forwarded.labels(name, kind).inc(n)
        return count

    def _error(self, name: str) -> Any:
        def count(line: str) -> None:
            self.metrics.forward_errors.labels(name).inc()
        return count

    # ------------------------------------------------------------------ connections
    def _connections(self) -> tuple[sqlite3.Connection | None, sqlite3.Connection]:
        assert self._paths is not None
        if self._state is None:
            self._state = db.connect(self._paths)
        if self._audit is None:
            self._audit = query.open_readonly(self._paths)  # None until the log exists
        return self._audit, self._state

    def _disconnect(self) -> None:
        for _, _, claim in self.shippers.values():
            claim.release()
        for conn in (self._audit, self._state):
            if conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
        self._audit = self._state = None

    def round(self) -> None:
        """One round over every target (the thread calls it; tests call it directly)."""
        self._sync()
        if not self.shippers:
            return
        try:
            audit, state = self._connections()
            for name, (_, shipper, claim) in self.shippers.items():
                if not claim.take(state):
                    continue  # another worker or node forwards this one
                shipper.round(audit, state)
                self.metrics.forward_behind.labels(name).set(shipper.behind)
            for conn in (audit, state):
                if conn is not None:
                    conn.rollback()  # end the read: PostgreSQL's next round sees new commits
        except (sqlite3.Error, GuaritaError) as exc:
            self.metrics.errors.labels("forward").inc()
            log.warning("forward: the databases cannot be read now (%s); trying again", exc)
            self._disconnect()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.round()
            except Exception as exc:  # noqa: BLE001 - forwarding must never die
                self.metrics.errors.labels("forward").inc()
                log.error("forward: round failed: %s: %s", type(exc).__name__, exc)
                self._disconnect()

    def done(self) -> None:
        """After the audit writer's own `done` (it comes first in the chain): what it wrote
        last goes out too."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        else:
            return  # this process never forwarded
        try:
            self._sync()
            if self.shippers:
                audit, state = self._connections()
                for name, (_, shipper, claim) in self.shippers.items():
                    if claim.take(state) and not shipper.drain(audit, state, DRAIN_SECONDS):
                        log.warning("forward %s: stopped %d records behind; they go out at the "
                                    "next start", name, shipper.behind)
        except (sqlite3.Error, GuaritaError) as exc:
            log.warning("forward: not drained at stop (%s); the rest goes out at the next "
                        "start", exc)
        finally:
            self._disconnect()
