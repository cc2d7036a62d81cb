"""Runs the notification worker (addon/notify/worker.py) on a thread of its own.

Sending mail is slow and may hang on a server that is away: it never touches the event
loop. The worker reads the runtime in force (policy, directory) at every round, so a
policy change to the recipients or the SMTP server needs no restart.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

from mitmproxy import ctx

from addon.audit import query
from addon.audit.retention import Retention
from addon.notify import outbox
from addon.notify.worker import tick
from addon.proxy.metrics import Metrics
from addon.proxy.options import positive_number
from addon.proxy.reload import Reload
from addon.state import db
from addon.store.seam import StoreError

log = logging.getLogger("guarita")


class Notifier:
    def __init__(self, reload: Reload, metrics: Metrics) -> None:
        self.reload = reload
        self.metrics = metrics
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.interval = 30.0  # seconds; guarita_notify_interval
        self.retention = Retention()

    def load(self, loader: Any) -> None:
        loader.add_option(
            "guarita_notify_interval", str, "30",
            "Seconds between rounds of the notification worker (expiry warnings, the Art. 19 "
            "digest, sending the outbox); only when the policy enables notifications.",
        )
        loader.add_option(
            "guarita_notifier", bool, True,
            "Run the notification worker in this process (off in all but one of the workers "
            "of `guarita run --workers`, or each message would go out once per worker).",
        )

    def configure(self, updated: set[str]) -> None:
        if "guarita_notify_interval" in updated:
            self.interval = positive_number("guarita_notify_interval")

    def running(self) -> None:
        if self._thread is None and ctx.options.guarita_notifier:
            self._thread = threading.Thread(target=self._loop, name="guarita-notify", daemon=True)
            self._thread.start()

    def round(self) -> None:
        """One round (the thread calls it; tests call it directly): the retention, once a
        day, then the notifications when the policy enables them."""
        rt = self.reload.runtime
        if self.retention.due(time.time()) and rt.policy.audit_retention_days is not None:
            state = db.connect(rt.policy.paths)
            try:
                pruned = self.retention.run(state, rt.policy)
            finally:
                state.close()
            if pruned:
                log.info("guarita: audit retention: %d records older than %d days pruned",
                         pruned, rt.policy.audit_retention_days)
        if not rt.policy.notify.enabled:
            return
        state = db.connect(rt.policy.paths)
        audit = None
        try:
            audit = query.open_readonly(rt.policy.paths)
            out = tick(state, audit, rt.policy, rt.directory)
            for result in ("queued", "sent", "retried", "failed", "postponed"):
                n = getattr(out, result)
                if n:
                    self.metrics.notifications.labels(result).inc(n)
            if out.errors:
                log.warning("guarita: notifications: %s", out.errors[-1])
            self.metrics.notify_pending.set(outbox.counts(state)["pending"])
        finally:
            state.close()
            if audit is not None:
                with contextlib.suppress(StoreError):
                    audit.close()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.round()
            except Exception as exc:  # noqa: BLE001 - the worker must never die
                self.metrics.errors.labels("notify").inc()
                log.error("guarita: notification round failed: %s", exc)

    def done(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
