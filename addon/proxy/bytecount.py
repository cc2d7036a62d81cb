"""Byte counts for tunnels that pass through undecrypted.

mitmproxy relays an ignored TLS connection without a flow, so no hook ever sees
its bytes. The tunnel's next layer is wrapped instead: every event on its way
down passes through `handle_event`, which adds up the data before handing the
event on unchanged. It is not a mitmproxy Layer (it never yields commands of its
own, so it never pauses), only the one method a NextLayer calls.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from mitmproxy.proxy import events


class ByteCounter:
    __slots__ = ("child", "client", "up", "down")

    def __init__(self, child: Any, client: Any) -> None:
        self.child = child
        self.client = client
        self.up = 0  # client -> server
        self.down = 0  # server -> client

    def handle_event(self, event: events.Event) -> Generator[Any, Any, None]:
        if type(event) is events.DataReceived:
            if event.connection is self.client:
                self.up += len(event.data)
            else:
                self.down += len(event.data)
        return self.child.handle_event(event)

    def __repr__(self) -> str:
        return repr(self.child)
