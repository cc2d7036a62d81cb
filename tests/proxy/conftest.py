"""In-process harness: the whole add-on chain in mitmproxy's taddons, on a throw-away workspace.

Flows are mitmproxy's own test flows (`tflow`), driven through the hooks in the
order mitmproxy calls them, so every add-on runs exactly as in the proxy, with
no subprocess and no network.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from mitmproxy import http
from mitmproxy.proxy import server_hooks
from mitmproxy.proxy.layers.http import (
    HttpConnectHook,
    HttpErrorHook,
    HttpRequestHeadersHook,
    HttpRequestHook,
    HttpResponseHeadersHook,
    HttpResponseHook,
)
from mitmproxy.test import taddons, tflow
from prometheus_client import CollectorRegistry

from addon.proxy import make_addons
from tests.conftest import Workspace

TZ = ZoneInfo("America/Sao_Paulo")
# Tuesday 24 November 2026: 14:00 is business hours, 20:00 is not
BUSINESS = dt.datetime(2026, 11, 24, 14, 0, tzinfo=TZ).timestamp()
EVENING = dt.datetime(2026, 11, 24, 20, 0, tzinfo=TZ).timestamp()


@dataclass
class Chain:
    tctx: taddons.context
    addons: dict[str, Any]
    ws: Workspace
    registry: CollectorRegistry
    upstream: list[str] = field(default_factory=list)  # requests that reached "the internet"
    dns: dict[str, list[str]] = field(default_factory=dict)  # the only names that resolve

    def __getattr__(self, name: str) -> Any:
        try:
            return self.addons[name]
        except KeyError:
            raise AttributeError(name) from None

    def at(self, when: float) -> None:
        self.addons["enforce"].clock = self.addons["identify"].clock = lambda: when
        self.addons["requestform"].clock = lambda: when
        if "transparent" in self.addons:
            self.addons["transparent"].clock = lambda: when

    async def hook(self, event: Any) -> None:
        await self.tctx.master.addons.handle_lifecycle(event)

    def metric(self, name: str, labels: dict[str, str] | None = None) -> float:
        return self.registry.get_sample_value(name, labels or {}) or 0.0

    def login(self, user: str, ip: str = "10.0.0.5") -> None:
        self.ws.run("session", "login", user, ip, check=True)
        self.addons["reload"].tick()

    def rows(self) -> list[sqlite3.Row]:
        writer = self.addons["auditlog"].writer
        assert writer.flush(10)
        conn = sqlite3.connect(self.ws.var / "audit.db")
        conn.row_factory = sqlite3.Row
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'audit'").fetchone():
            return []  # nothing written yet: the writer opens the file with its first batch
        return conn.execute("SELECT * FROM audit ORDER BY id").fetchall()


def make_flow(url: str = "http://www.gov.br/", method: str = "GET", ip: str = "10.0.0.5",
              headers: dict[str, str] | None = None, body: bytes = b"") -> http.HTTPFlow:
    f = tflow.tflow()
    scheme, _, rest = url.partition("://")
    hostport, slash, path = rest.partition("/")
    if hostport.startswith("["):
        host, _, port = hostport[1:].partition("]")
        port = port.lstrip(":")
    else:
        host, _, port = hostport.partition(":")
    req = f.request
    req.method, req.scheme, req.host = method, scheme, host
    req.port = int(port) if port else (443 if scheme == "https" else 80)
    req.path = slash + path
    req.authority = ""
    req.headers.clear()
    req.content = body
    if not body:
        del req.headers["content-length"]
    req.headers["host"] = hostport
    for k, v in (headers or {}).items():
        req.headers[k] = v
    f.client_conn.peername = (ip, 40000)
    f.client_conn.tls = False
    f.client_conn.sni = None
    return f


async def send(chain: Chain, f: http.HTTPFlow, answer: bytes = b"ok") -> http.HTTPFlow:
    """Drive a flow through the hooks as mitmproxy does; an allowed one gets `answer`."""
    await chain.hook(HttpRequestHeadersHook(f))
    if f.error:
        await chain.hook(HttpErrorHook(f))
        return f
    await chain.hook(HttpRequestHook(f))
    if f.error:
        await chain.hook(HttpErrorHook(f))
        return f
    if f.response is None:
        chain.upstream.append(f"{f.request.method} {f.request.host}{f.request.path}")
        f.response = http.Response.make(200, answer)
        await chain.hook(HttpResponseHeadersHook(f))
        stream = f.response.stream
        if callable(stream):
            stream(answer)
        if callable(f.request.stream):
            f.request.stream(f.request.raw_content or b"")
    else:
        await chain.hook(HttpResponseHeadersHook(f))
    await chain.hook(HttpResponseHook(f))
    return f


async def connect(chain: Chain, host: str, port: int = 443, ip: str = "10.0.0.5",
                  headers: dict[str, str] | None = None) -> http.HTTPFlow:
    f = make_flow(f"http://{host}:{port}/", "CONNECT", ip, headers)
    f.request.path = ""
    await chain.hook(HttpConnectHook(f))
    return f


def server_data(f: http.HTTPFlow, address: tuple[str, int]) -> server_hooks.ServerConnectionHookData:
    server = tflow.tserver_conn()
    server.address = address
    server.via = None
    return server_hooks.ServerConnectionHookData(server, f.client_conn)


def _chain(ws: Workspace, monkeypatch: pytest.MonkeyPatch, transparent: bool) -> Iterator[Chain]:
    monkeypatch.chdir(ws.root)
    registry = CollectorRegistry()
    addons = make_addons(registry, transparent=transparent)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    with taddons.context(*addons) as tctx:
        tctx.options.update(guarita_policy=str(ws.config))
        children = addons[0].parts  # type: ignore[attr-defined]
        c = Chain(tctx, {type(a).__name__.lower(): a for a in children}, ws, registry)
        c.dns.update({"www.gov.br": ["203.0.113.10"], "www.youtube.com": ["203.0.113.11"]})

        async def resolve(host: str, port: int) -> list[str]:  # tests never ask real DNS
            if host not in c.dns:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return c.dns[host]

        c.destinations.resolver = resolve
        c.at(BUSINESS)
        yield c
        for a in children:
            if hasattr(a, "done"):
                a.done()
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def chain(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[Chain]:
    yield from _chain(ws, monkeypatch, transparent=False)


@pytest.fixture
def transparent_chain(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[Chain]:
    """The chain as `guarita run --transparent-port` builds it."""
    yield from _chain(ws, monkeypatch, transparent=True)
