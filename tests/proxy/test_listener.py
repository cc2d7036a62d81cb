"""Workers of `guarita run --workers` listen on one port, each accepting for itself."""

from __future__ import annotations

import asyncio
import socket
from unittest import mock

import pytest
from mitmproxy.proxy import mode_servers
from mitmproxy.proxy.mode_servers import ServerInstance
from mitmproxy.test import taddons

from addon.proxy import listener
from tests.conftest import free_port


def test_two_proxy_listeners_share_one_port_and_both_accept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mode_servers.AsyncioServerInstance, "listen",
                        mode_servers.AsyncioServerInstance.listen)  # put back after the test
    port = free_port()

    async def main() -> None:
        with taddons.context():
            first = ServerInstance.make(f"regular@127.0.0.1:{port}", mock.MagicMock())
            await first.start()
            second = ServerInstance.make(f"regular@127.0.0.1:{port}", mock.MagicMock())
            with pytest.raises(OSError):  # without the group the port is taken
                await second.start()
            await first.stop()

            listener.share_port()
            workers = [ServerInstance.make(f"regular@127.0.0.1:{port}", mock.MagicMock())
                       for _ in range(2)]
            accepted: list[int] = []
            for i, w in enumerate(workers):  # count the connections each one takes
                w.handle_stream = mock.AsyncMock(  # type: ignore[method-assign]
                    side_effect=lambda r, wr, i=i: accepted.append(i))
                await w.start()
            assert [w.listen_addrs[0][1] for w in workers] == [port, port]
            for _ in range(40):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
            for _ in range(100):
                if len(accepted) == 40:
                    break
                await asyncio.sleep(0.02)
            for w in workers:
                await w.stop()
            assert len(accepted) == 40 and set(accepted) == {0, 1}  # both took some

    asyncio.run(main())
    with pytest.raises(ConnectionRefusedError):  # nothing left listening
        socket.create_connection(("127.0.0.1", port), timeout=2)
