"""Byte counts for tunnels, which no mitmproxy hook reports.

mitmproxy relays an undecrypted (ignored) TLS connection without a flow, so no
hook ever sees its bytes. For that case, which is almost all HTTPS, the relay
layer itself is replaced by `CountingRelay`: mitmproxy's own pass-through
`TCPLayer`, counting in the same step that relays each chunk, so a 1 GB download
costs no extra call per chunk. Any other tunnel layer (an intercepted one) is
wrapped by `ByteCounter`, which adds up data events on their way down before
handing them on unchanged.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from mitmproxy.proxy import commands, context, events
from mitmproxy.proxy.layers.tcp import TCPLayer, TcpMessageInjected
from mitmproxy.proxy.utils import expect

_DATA = events.DataReceived  # one global lookup per event, not a module attribute too


class CountingRelay(TCPLayer):
    """mitmproxy's pass-through TCP layer (`ignore=True`), counting what it relays."""

    def __init__(self, ctx: context.Context) -> None:
        super().__init__(ctx, ignore=True)
        self.up = 0  # client -> server
        self.down = 0  # server -> client

    @expect(events.DataReceived, events.ConnectionClosed, TcpMessageInjected)
    def relay_messages(self, event: events.Event) -> Generator[Any, Any, None]:
        if type(event) is _DATA:
            if event.connection is self.context.client:
                self.up += len(event.data)
                yield commands.SendData(self.context.server, event.data)
            else:
                self.down += len(event.data)
                yield commands.SendData(self.context.client, event.data)
        else:  # closing (and injected messages): mitmproxy's own logic, unchanged
            yield from super().relay_messages(event)


class ByteCounter:
    """Wraps any other next layer; not a mitmproxy Layer, only the method NextLayer calls."""

    __slots__ = ("child", "client", "up", "down")

    def __init__(self, child: Any, client: Any) -> None:
        self.child = child
        self.client = client
        self.up = 0  # client -> server
        self.down = 0  # server -> client

    def handle_event(self, event: events.Event) -> Generator[Any, Any, None]:
        if type(event) is _DATA:
            if event.connection is self.client:
                self.up += len(event.data)
            else:
                self.down += len(event.data)
        return self.child.handle_event(event)

    def __repr__(self) -> str:
        return repr(self.child)
