"""The mitmproxy layer: one add-on per module, thin over addon.runtime and addon.policy.

`make_addons()` builds the chain in the order mitmproxy must call it (a request is
identified, decided, streamed, recorded; see docs/architecture.md) and hands it to
mitmproxy as the parts of one add-on. mitmproxy visits every *top-level* add-on
for every event, each visit costing a context manager and a coroutine whether or
not the add-on has that hook (as ten top-level add-ons that cost 13% of keep-alive
throughput); it visits an add-on's children (`addons`) too, each of them for every event,
with the hook's arguments built again for each child that has the hook. So the parts are
no children: `Guarita` calls them itself.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

# the modules that declare mitmproxy's hooks, imported so that every hook is registered
import mitmproxy.addonmanager  # noqa: F401
import mitmproxy.proxy.layers  # noqa: F401
import mitmproxy.proxy.server_hooks  # noqa: F401
from mitmproxy import hooks
from prometheus_client import CollectorRegistry

HOOK_NAMES = frozenset(hooks.all_hooks)
SYNC_ONLY = frozenset({"load", "configure"})  # mitmproxy calls these without awaiting


def in_order(methods: Sequence[Callable[..., Any]]) -> Callable[..., Awaitable[None] | None]:
    """One hook of several parts: each called in turn; when one must wait (returns an
    awaitable), a coroutine that awaits it and goes on with the rest, as mitmproxy's own
    dispatch would. Most calls return None: no coroutine then."""

    def call(*args: Any) -> Awaitable[None] | None:
        for i, method in enumerate(methods):
            pending = method(*args)
            if pending is not None and inspect.isawaitable(pending):
                return _go_on(pending, methods[i + 1:], args)
        return None

    return call


async def _go_on(pending: Awaitable[Any], rest: Sequence[Callable[..., Any]],
                 args: tuple[Any, ...]) -> None:
    await pending
    for method in rest:
        more = method(*args)
        if more is not None and inspect.isawaitable(more):
            await more


class Guarita:
    """The guarita chain as one mitmproxy add-on, calling its `parts` in order.

    For each hook that some part has, the add-on holds one callable under the hook's name:
    that part's own method when only one part has it, else `in_order` over theirs. A hook
    no part has is no attribute, so mitmproxy skips it at the cost of one lookup. An error
    in a part stops that event's later parts and is logged by mitmproxy, as with children.
    """

    def __init__(self, parts: list[object]) -> None:
        self.parts = parts
        for name in HOOK_NAMES:
            methods = [m for m in (getattr(p, name, None) for p in parts) if callable(m)]
            if name in SYNC_ONLY and any(inspect.iscoroutinefunction(m) for m in methods):
                raise TypeError(f"{name} cannot be async: mitmproxy does not await it")
            if len(methods) == 1:
                setattr(self, name, methods[0])
            elif methods:
                setattr(self, name, in_order(methods))


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
