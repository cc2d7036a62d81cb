"""Prometheus metrics. Label values are bounded: categories come from the policy, never hosts."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry or CollectorRegistry()
        self.requests = Counter("guarita_requests", "Requests and tunnels decided",
                                ["decision", "level", "category"], registry=r)
        self.decision_seconds = Histogram(
            "guarita_decision_seconds", "Time to identify and decide one request",
            buckets=(1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 1e-2, 0.1, 1.0), registry=r)
        self.audit_queue = Gauge("guarita_audit_queue_depth", "Audit records waiting", registry=r)
        self.audit_written = Counter("guarita_audit_records_written",
                                     "Audit records written to SQLite", registry=r)
        self.audit_lost = Counter("guarita_audit_records_lost",
                                  "Audit records lost (must stay 0)", registry=r)
        self.audit_backpressure = Counter("guarita_audit_backpressure",
                                          "Times a request waited for the audit queue", registry=r)
        self.audit_batch_seconds = Histogram("guarita_audit_batch_seconds",
                                             "Time to write one audit batch", registry=r)
        self.directory_lookups = Counter("guarita_directory_lookups",
                                         "Directory lookups", ["result"], registry=r)
        self.cache_hits = Counter("guarita_cache_hits", "Identity cache hits", ["cache"],
                                  registry=r)
        self.errors = Counter("guarita_errors", "Errors, by where they happened (fail closed)",
                              ["where"], registry=r)
        self.active_releases = Gauge("guarita_active_releases", "Releases in force", registry=r)
        self.loop_lag_max = Gauge("guarita_event_loop_lag_max_seconds",
                                  "Longest event-loop stall seen (timer lateness)", registry=r)
        self.loop_lag = Histogram("guarita_event_loop_lag_seconds",
                                  "Lateness of a 10 ms event-loop timer",
                                  buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 1.0), registry=r)
        self.reloads = Counter("guarita_reloads", "Reloads of policy, lists and state",
                               ["what", "result"], registry=r)

    def category_label(self, categories: tuple[str, ...], known: dict[str, str]) -> str:
        if not categories:
            return "none"
        c = categories[0]
        return c if c in known else "other"
