"""The mitmproxy layer: one add-on per module, thin over addon.runtime and addon.policy.

`make_addons()` builds the chain in the order mitmproxy must call it (a request is
identified, decided, streamed, recorded; see docs/architecture.md) and hands it to
mitmproxy as the children of one add-on. mitmproxy visits every *top-level* add-on
for every event, each visit costing a context manager and a coroutine whether or
not the add-on has that hook; as ten top-level add-ons that cost 13% of
keep-alive throughput. Children are visited in one pass, in order.
"""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry


class Guarita:
    """The guarita chain as one mitmproxy add-on; `addons` are its children, in order."""

    def __init__(self, addons: list[object]) -> None:
        self.addons = addons


def make_addons(registry: CollectorRegistry | None = None, dns: bool = False,
                transparent: bool = False) -> list[object]:
    """The chain; with `dns`, the DNS guard too, as a top-level add-on of its own (last:
    the caller moves it before mitmproxy's resolver; kept out of the chain otherwise, as
    each top-level add-on costs every request a visit); with `transparent`, the redirected
    clients' add-on (a child, first of those that read requests: out of the chain
    otherwise, as every child with a hook is one more call per request)."""
    from addon.proxy.auditlog import AuditLog
    from addon.proxy.bodies import Bodies
    from addon.proxy.destinations import Destinations
    from addon.proxy.dnsguard import DnsGuard
    from addon.proxy.enforce import Enforce
    from addon.proxy.forwarder import Forwarder
    from addon.proxy.identify import Identify
    from addon.proxy.logon import Logon
    from addon.proxy.metrics import Metrics, MetricsEndpoint
    from addon.proxy.notifier import Notifier
    from addon.proxy.reload import Reload
    from addon.proxy.requestform import RequestForm
    from addon.proxy.transparent import Transparent
    from addon.proxy.tunnels import Tunnels
    from addon.proxy.upstream import UpstreamErrors
    from addon.proxy.verdict import ConnectionNotes

    # The operator's lines (reloads, a fixed policy adopted again, SIGHUP, logon sessions)
    # are at INFO: Python's root default (WARNING) would hide them from mitmproxy's log.
    guarita_log = logging.getLogger("guarita")
    if guarita_log.level == logging.NOTSET:
        guarita_log.setLevel(logging.INFO)
    metrics = Metrics(registry)
    notes = ConnectionNotes()
    reload = Reload(metrics)
    audit = AuditLog(reload, metrics, notes)
    identify = Identify(reload, metrics)
    tunnels = Tunnels(reload, metrics, audit, notes)
    redirected = [Transparent(reload, metrics, identify, tunnels)] if transparent else []
    chain: list[object] = [Guarita([
        reload,  # first: every later add-on reads its runtime
        MetricsEndpoint(metrics),
        *redirected,  # names the request's host and marks it before anyone reads it
        identify,
        RequestForm(reload, metrics, notes),  # answers portal requests before enforce's last gate
        Enforce(reload, metrics, notes),
        Bodies(),
        tunnels,  # before destinations: takes its notes first
        Destinations(reload, metrics, notes),
        UpstreamErrors(reload),  # before the audit log: it names the failure the log records
        audit,
        Forwarder(reload, metrics),  # after the audit log: its `done` sends what that wrote last
        Logon(reload, metrics),
        Notifier(reload, metrics),
    ])]
    if dns:
        chain.append(DnsGuard(reload, metrics, audit, notes))
    return chain
