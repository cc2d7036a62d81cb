"""Forwarding's metrics, declared once for both hosts (the proxy's registry and `guarita
forward run`'s own), and the hooks that feed them."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge

from addon.forward.service import Hooks


class ForwardMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.forwarded = Counter("guarita_forwarded", "Messages sent to a SIEM target",
                                 ["target", "kind"], registry=registry)
        self.errors = Counter("guarita_forward_errors",
                              "Times a SIEM target was unreachable or went away", ["target"],
                              registry=registry)
        self.behind = Gauge("guarita_forward_behind_records",
                            "Records committed but not yet taken by a SIEM target", ["target"],
                            registry=registry, multiprocess_mode="livemax")

    def hooks(self, failed: Callable[[], None] = lambda: None) -> Hooks:
        return Hooks(sent=lambda target, kind, n: self.forwarded.labels(target, kind).inc(n),
                     error=lambda target: self.errors.labels(target).inc(),
                     behind=lambda target, n: self.behind.labels(target).set(n),
                     failed=failed)
