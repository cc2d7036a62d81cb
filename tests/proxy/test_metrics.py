"""metrics: the endpoint binds where told and serves the registry."""

from __future__ import annotations

import json
import re
import socket
import urllib.request

import pytest
from mitmproxy import exceptions
from prometheus_client import CollectorRegistry

from addon.proxy.metrics import Metrics
from tests.conftest import ROOT, free_port
from tests.proxy.conftest import Chain


def test_endpoint_serves_guarita_metrics_on_loopback(chain: Chain) -> None:
    port = free_port()
    chain.tctx.options.update(guarita_metrics_port=port)
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert "guarita_audit_queue_depth" in body and "guarita_last_reload_timestamp_seconds" in body
    chain.tctx.options.update(guarita_metrics_port=0)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1)


def test_a_taken_port_is_an_options_error(chain: Chain) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(exceptions.OptionsError):
            chain.tctx.options.update(guarita_metrics_port=s.getsockname()[1])


def test_every_metric_the_grafana_dashboard_asks_for_exists() -> None:
    registry = CollectorRegistry()
    Metrics(registry)
    known = set(registry._names_to_collectors)  # every exposed name, _total and _bucket too
    dashboard = json.loads((ROOT / "config" / "grafana-dashboard.json").read_text())
    asked = {name for panel in dashboard["panels"] for t in panel.get("targets", ())
             for name in re.findall(r"guarita_[a-z0-9_]+", t["expr"])}
    assert asked and asked <= known, sorted(asked - known)
