"""Runs SIEM forwarding (addon/forward/service.py) on a thread of its own, never on the
event loop.

Every round (a second by default) each target of the policy in force sends what was
committed since its position; a changed policy adds, changes or drops targets without a
restart. At a graceful stop, after the audit writer has written everything, each target
gets what is left and its position is saved. `--set guarita_forwarder=false` leaves it to
`guarita forward run`, a process of its own.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from mitmproxy import ctx

from addon.forward.service import Forwarding
from addon.proxy.metrics import Metrics
from addon.proxy.options import positive_number
from addon.proxy.reload import Reload

log = logging.getLogger("guarita.forward")


class Forwarder:
    def __init__(self, reload: Reload, metrics: Metrics) -> None:
        self.metrics = metrics
        self.interval = 1.0
        self.service = Forwarding(lambda: reload.runtime.policy, metrics.forward.hooks(
            failed=lambda: metrics.errors.labels("forward").inc()))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def shippers(self) -> dict[str, Any]:
        return self.service.shippers

    def load(self, loader: Any) -> None:
        loader.add_option(
            "guarita_forward_interval", str, "1",
            "Seconds between rounds of SIEM forwarding (the policy's audit.forward).")
        loader.add_option(
            "guarita_forwarder", bool, True,
            "Forward the audit log to the policy's SIEMs from this process (off in all but "
            "one of the workers of `guarita run --workers`, and when `guarita forward run` "
            "does it).")

    def configure(self, updated: set[str]) -> None:
        if "guarita_forward_interval" in updated:
            self.interval = positive_number("guarita_forward_interval")

    def running(self) -> None:
        if self._thread is None and ctx.options.guarita_forwarder:
            self._thread = threading.Thread(target=self._loop, name="guarita-forward",
                                            daemon=True)
            self._thread.start()

    def round(self) -> None:
        """One round (the thread calls it; tests call it directly)."""
        self.service.round()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.service.round()
            except Exception as exc:  # noqa: BLE001 - forwarding must never die
                self.metrics.errors.labels("forward").inc()
                log.error("forward: round failed: %s: %s", type(exc).__name__, exc)
                self.service.disconnect()

    def done(self) -> None:
        """After the audit writer's own `done` (it comes first in the chain): what it wrote
        last goes out too."""
        self._stop.set()
        if self._thread is None:
            return  # this process never forwarded
        self._thread.join(5)
        self._thread = None
        self.service.drain()
