"""Many workers on one port: each worker's listening socket joins a SO_REUSEPORT group.

`guarita run --workers N` starts N mitmproxy processes on one address. The kernel
spreads new connections over the group by a hash of the connection, so every worker
accepts connections itself and sees the client's real address (identity by login
session depends on it: a front balancer would hide it). mitmproxy has no option for
SO_REUSEPORT, so a worker wraps the TCP listener of its server instances; the
supervisor, which never calls this, holds the port bound without listening, so no
other program takes it between worker restarts and no connection waits in its queue.
"""

from __future__ import annotations

import asyncio
from typing import Any

from mitmproxy.proxy import mode_servers

_original = mode_servers.AsyncioServerInstance.listen


async def _listen_shared(self: Any, host: str, port: int) -> list[Any]:
    if self.mode.transport_protocol != "tcp":
        return await _original(self, host, port)
    return [await asyncio.start_server(self.handle_stream, host, port, reuse_port=True)]


def share_port() -> None:
    """Make this process's proxy listeners join the port's SO_REUSEPORT group."""
    mode_servers.AsyncioServerInstance.listen = _listen_shared  # type: ignore[method-assign]

