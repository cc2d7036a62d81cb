"""`guarita forward run | status`: SIEM forwarding as a process of its own, and how each
target stands (issue 29)."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

import click
from prometheus_client import CollectorRegistry, start_http_server

from addon.audit import query
from addon.cli.common import closing, config_option, emit, fmt_time, format_option, policy_of, state_of
from addon.errors import GuaritaError
from addon.forward.metrics import ForwardMetrics
from addon.forward.service import Forwarding
from addon.forward.source import standing
from addon.policy.model import Policy
from addon.settings.holidays_apart import table_apart
from addon.settings.load import load_policy
from addon.store import ready


@click.group("forward")
def forward() -> None:
    """Streaming the audit log and the admin history to the policy's SIEMs."""


@forward.command("status")
@format_option
@config_option
def forward_status(config: Path, fmt: str) -> None:
    """Each target of audit.forward: the last record and operation it has, and how many
    wait (they go out as soon as the receiver takes them)."""
    policy = policy_of(config)
    names = [t.name for t in policy.audit_forward]
    if not names:
        click.echo("no audit.forward targets in the policy", err=True)
        return
    state = state_of(policy)
    audit = query.open_readonly(policy.paths)
    if audit is not None:
        closing(audit)
    tz = policy.calendar.tz
    emit(({**row, "saved": fmt_time(row["saved"], tz)}
          for row in standing(audit, state, names)),
         ["target", "status", "audit_id", "admin_id", "behind_audit", "behind_admin", "saved"],
         fmt)


class _Policy:
    """The policy file in force: re-read when it changes, the last good one kept."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.current = load_policy(config, holidays=table_apart)  # a daemon: see holidays_apart
        self._mtime = config.stat().st_mtime_ns

    def __call__(self) -> Policy:
        try:
            mtime = self.config.stat().st_mtime_ns
        except OSError:
            return self.current
        if mtime != self._mtime:
            self._mtime = mtime
            try:
                self.current = load_policy(self.config, holidays=table_apart)
                logging.getLogger("guarita.forward").info("policy reloaded")
            except GuaritaError as exc:
                logging.getLogger("guarita.forward").warning(
                    "policy not reloaded, keeping the last good one: %s", exc)
        return self.current


@forward.command("run")
@click.option("--interval", type=click.FloatRange(min=0.1), default=1.0, show_default=True,
              help="Seconds between rounds.")
@click.option("--metrics-port", type=int, default=0,
              help="Serve guarita_forward* metrics on 127.0.0.1:PORT (0: none).")
@config_option
def forward_run(interval: float, metrics_port: int, config: Path) -> None:
    """Forward until stopped (SIGTERM or Ctrl-C drains what is left first). Run it beside
    `guarita run --set guarita_forwarder=false`, so the proxy's core spends nothing on it."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    policy = _Policy(config)
    ready.ensure(policy.current.paths)
    registry = CollectorRegistry()
    metrics = ForwardMetrics(registry)
    if metrics_port:
        start_http_server(metrics_port, "127.0.0.1", registry=registry)
    service = Forwarding(policy, metrics.hooks())
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    names = ", ".join(t.name for t in policy.current.audit_forward) or "no target yet"
    click.echo(f"forwarding to {names}; every {interval:g} s", err=True)
    while not stop.wait(interval):
        service.round()
    service.drain()
    click.echo("forwarding stopped; positions saved", err=True)
