"""Prometheus metrics, and the add-on that serves them.

Label values are bounded: categories come from the policy, never hosts. Every
metric lives in the registry passed in, so tests build a fresh one and read
values back with `get_sample_value`. The endpoint binds to the address given
(loopback by default), never to all interfaces unless told.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from mitmproxy import ctx, exceptions
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from addon.forward.metrics import ForwardMetrics
from addon.policy.model import Decision

log = logging.getLogger("guarita")


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry or CollectorRegistry()
        self.requests = Counter("guarita_requests", "Requests and tunnels decided",
                                ["decision", "level", "category"], registry=r)
        self.decision_seconds = Histogram(
            "guarita_decision_seconds", "Time to identify and decide one request",
            buckets=(1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 1e-2, 0.1, 1.0), registry=r)
        self.audit_queue = Gauge("guarita_audit_queue_depth", "Audit records waiting", registry=r,
                                 multiprocess_mode="livesum")
        self.audit_written = Counter("guarita_audit_records_written",
                                     "Audit records written to SQLite", registry=r)
        self.audit_lost = Counter("guarita_audit_records_lost",
                                  "Audit records lost (must stay 0)", registry=r)
        self.audit_backpressure = Counter(
            "guarita_audit_backpressure",
            "Times a request was held because the audit queue was full", registry=r)
        self.audit_restarts = Counter("guarita_audit_writer_restarts",
                                      "Times the audit writer failed and was restarted", registry=r)
        self.audit_batch_seconds = Histogram("guarita_audit_batch_seconds",
                                             "Time to write one audit batch", registry=r)
        self.dns_questions = Counter("guarita_dns_questions",
                                     "Questions the DNS companion answered, by rule", ["rule"],
                                     registry=r)
        self.forward = ForwardMetrics(r)  # guarita_forwarded*, guarita_forward_*
        self.directory_lookups = Counter("guarita_directory_lookups",
                                         "Directory lookups", ["result"], registry=r)
        self.cache_hits = Counter("guarita_cache_hits", "Identity cache hits", ["cache"],
                                  registry=r)
        self.errors = Counter("guarita_errors", "Errors, by where they happened (fail closed)",
                              ["where"], registry=r)
        self.active_releases = Gauge("guarita_active_releases", "Releases in force", registry=r,
                                     multiprocess_mode="livemax")
        self.last_reload = Gauge("guarita_last_reload_timestamp_seconds",
                                 "When the runtime in force was built (POSIX seconds)", registry=r,
                                 multiprocess_mode="livemin")
        self.policy_broken = Gauge("guarita_policy_file_broken",
                                   "1 while the policy file on disk is refused and the last "
                                   "good one is in force", registry=r,
                                   multiprocess_mode="livemax")
        self.loop_lag = Histogram("guarita_event_loop_lag_seconds",
                                  "Lateness of a 100 ms event-loop timer",
                                  buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 1.0), registry=r)
        self.loop_lag_max = Gauge("guarita_event_loop_lag_max_seconds",
                                  "Longest event-loop timer lateness seen since start", registry=r,
                                  multiprocess_mode="livemax")
        self.logon_events = Counter(
            "guarita_logon_events",
            "Logon endpoint: wrong tokens, out-of-scope announcements, session conflicts",
            ["event"], registry=r)
        self.reloads = Counter("guarita_reloads", "Reloads of policy, lists and state",
                               ["what", "result"], registry=r)
        self.notifications = Counter(
            "guarita_notifications",
            "Notifications: queued, sent, retried (mail server away), failed, postponed "
            "(per-recipient rate limit)", ["result"], registry=r)
        self.notify_pending = Gauge("guarita_notifications_pending",
                                    "Notifications waiting in the outbox", registry=r,
                                    multiprocess_mode="livemax")
        # 1 for the policy this node runs, by its SHA-256: two nodes (or two workers) with
        # different hashes run different policies
        self.policy_info = Gauge("guarita_policy_info", "The policy in force, by SHA-256",
                                 ["sha256"], registry=r, multiprocess_mode="livemax")
        self._policy_digest = ""
        self._children: dict[tuple[str, int, tuple[str, ...]], Any] = {}
        self._label_cache: dict[tuple[int, tuple[str, ...]], Any] = {}
        self._labels_of: object = None

    def policy_in_force(self, digest: str) -> None:
        if digest == self._policy_digest:
            return
        if self._policy_digest:
            self.policy_info.labels(self._policy_digest).set(0)
        self.policy_info.labels(digest).set(1)
        self._policy_digest = digest

    def child(self, metric: Any, *labels: str) -> Any:
        """A labelled child, cached: `labels()` costs more than the increment itself."""
        key = (id(metric), labels)
        c = self._label_cache.get(key)
        if c is None:
            c = self._label_cache[key] = metric.labels(*labels)
        return c

    def count(self, d: Decision, known: dict[str, str]) -> None:
        """Count a decided request; label children are cached (labels() costs more than inc())."""
        if known is not self._labels_of:  # a new policy: its categories are the label values
            self._children, self._labels_of = {}, known
        key = (d.action, d.level, d.categories[:1])
        child = self._children.get(key)
        if child is None:
            c = d.categories[0] if d.categories else "none"
            child = self._children[key] = self.requests.labels(
                d.action, str(d.level), c if c in known or c == "none" else "other")
        child.inc()


class MetricsEndpoint:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._server: Any = None
        self._lag: asyncio.Task[None] | None = None

    def load(self, loader: Any) -> None:
        loader.add_option("guarita_metrics_port", int, 0,
                          "Serve Prometheus metrics at /metrics on this port (0: off).")
        loader.add_option("guarita_metrics_host", str, "127.0.0.1",
                          "Address the metrics endpoint binds to (loopback by default).")

    def configure(self, updated: set[str]) -> None:
        if not updated & {"guarita_metrics_port", "guarita_metrics_host"}:
            return
        self._close()
        port = ctx.options.guarita_metrics_port
        if not port:
            return
        try:
            self._server = start_http_server(port, addr=ctx.options.guarita_metrics_host,
                                             registry=self.metrics.registry)
        except OSError as exc:
            raise exceptions.OptionsError(f"metrics port {port}: {exc.strerror or exc}") from exc

    def running(self) -> None:
        if self._lag is None:
            self._lag = asyncio.get_running_loop().create_task(self._watch_lag())

    async def _watch_lag(self) -> None:
        """How late a 100 ms timer fires: a histogram for dashboards, never a log line."""
        worst = 0.0
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.1)
            lag = max(0.0, time.perf_counter() - t - 0.1)
            self.metrics.loop_lag.observe(lag)
            if lag > worst:
                worst = lag
                self.metrics.loop_lag_max.set(lag)

    def _close(self) -> None:
        if self._server is not None:
            server, thread = self._server
            server.shutdown()
            server.server_close()
            thread.join(2)
            self._server = None

    def done(self) -> None:
        if self._lag is not None:
            self._lag.cancel()
        self._close()
