"""The runtime every other add-on reads, and the thread that keeps it current.

Other add-ons hold this add-on and read `.runtime` once per hook: one
reference, swapped whole by `RuntimeSource.refresh` (policy, directory, index
and state together), so a hook never sees half a reload. A broken policy file
or list is refused with one log line and the last good runtime stays; fixing
the file is adopted with a line saying so. State (sessions, blocks, releases)
is re-read at every tick when another process committed, so a block made with
the CLI is enforced within one reload interval.
"""

from __future__ import annotations

import gc
import logging
import threading
from pathlib import Path
from typing import Any

from mitmproxy import ctx, exceptions

from addon.errors import GuaritaError
from addon.identity.negotiate import make_acceptor
from addon.proxy.metrics import Metrics
from addon.proxy.options import positive_number
from addon.runtime import Runtime, RuntimeSource
from addon.settings.holidays_apart import table_apart
from addon.store.url import redact

log = logging.getLogger("guarita")


class Reload:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.source: RuntimeSource | None = None
        # The one reference hooks read; None only before the first configure (hooks that
        # find None fail closed). Rebound, never edited, when a refresh built a new one.
        self.runtime: Runtime = None  # type: ignore[assignment]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.interval = 1.0  # seconds; guarita_reload_interval

    def load(self, loader: Any) -> None:
        loader.add_option(
            "guarita_policy", str, "config/policy.yaml",
            "guarita policy file (YAML). Relative state paths in it resolve against the "
            "folder mitmproxy runs in. A change is adopted within seconds; a broken file is "
            "refused with one log line and the last good policy stays in force.",
        )
        loader.add_option(
            "guarita_reload_interval", str, "1",
            "Seconds between checks for changed state (sessions, blocks, releases), category "
            "lists and policy. A block made with the CLI is enforced within this time.",
        )

    def configure(self, updated: set[str]) -> None:
        if "guarita_reload_interval" in updated:
            self.interval = positive_number("guarita_reload_interval")
        if "guarita_policy" not in updated:
            return
        try:
            source = RuntimeSource(Path(ctx.options.guarita_policy), acceptor_factory=make_acceptor,
                                   holidays=table_apart)
        except GuaritaError as exc:
            if self.source is None:
                raise exceptions.OptionsError(str(exc)) from exc
            for mistake in str(exc).splitlines():
                log.error("guarita: %s; keeping the last good policy", mistake)
            return
        old, self.source = self.source, source
        if old is not None:
            old.close()
        self._adopted()

    def running(self) -> None:
        # Start-up objects (policy, holidays, mitmproxy's own) live as long as the process:
        # keep them out of the cyclic GC's full collections, which would stall the loop.
        gc.freeze()
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="guarita-reload", daemon=True)
            self._thread.start()
        rt = self.runtime
        log.info("guarita: policy %s, %d category entries, audit log %s", rt.policy.source,
                 rt.index.entries_count, redact(str(rt.policy.paths.audit_target)))

    def tick(self, force_state: bool = False, force_policy: bool = False) -> None:
        """One reload check (the thread calls it; tests call it directly)."""
        source = self.source
        if source is None:
            return
        before = source.current
        outcomes: set[tuple[str, str]] = set()  # a file with three mistakes is one failed reload
        for line in source.refresh(force_state, force_policy):
            ok = "keeping" not in line
            outcomes.add(("policy" if "policy" in line else "categories", "ok" if ok else "error"))
            (log.info if ok else log.error)("guarita: %s", line)
        for what, outcome in outcomes:
            self.metrics.reloads.labels(what, outcome).inc()
        if source.current is not before:
            self._adopted()
        self.metrics.policy_broken.set(1 if source.broken else 0)

    def hangup(self) -> None:
        """SIGHUP (`systemctl reload`): read the policy, the lists and the state again now."""
        log.info("guarita: SIGHUP: reloading policy, lists and state")
        try:
            self.tick(force_state=True, force_policy=True)
        except Exception as exc:  # noqa: BLE001 - a reload request never stops the proxy
            self.metrics.errors.labels("reload").inc()
            log.error("guarita: reload failed, keeping the current runtime: %s", exc)

    def _adopted(self) -> None:
        assert self.source is not None
        rt = self.runtime = self.source.current
        self.metrics.last_reload.set(self.source.loaded_at)
        self.metrics.active_releases.set(len(rt.snapshot.releases))
        self.metrics.policy_in_force(rt.policy.digest)

    def _loop(self) -> None:
        ticks = 0
        while not self._stop.wait(self.interval):
            ticks += 1
            try:
                # every minute the state is re-read anyway: releases and sessions expire by time
                self.tick(force_state=ticks % 60 == 0)
            except Exception as exc:  # noqa: BLE001 - the reloader must never die
                self.metrics.errors.labels("reload").inc()
                log.error("guarita: reload failed, keeping the current runtime: %s", exc)

    def done(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self.source is not None:
            self.source.close()
