"""The chain as one add-on: mitmproxy sees one, and every part is called in order, a part
that must wait awaited before the next, as mitmproxy's own dispatch would."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from mitmproxy.proxy.layers.http import HttpRequestHeadersHook
from mitmproxy.test import taddons, tflow

from addon.proxy import Guarita


class Part:
    def __init__(self, name: str, calls: list[str], wait: bool = False) -> None:
        self.name, self.calls, self.wait = name, calls, wait

    def load(self, loader: Any) -> None:
        loader.add_option(f"part_{self.name}", int, 0, "a part's option")
        self.calls.append(f"load {self.name}")

    def configure(self, updated: set[str]) -> None:
        if f"part_{self.name}" in updated:
            self.calls.append(f"configure {self.name}")

    def requestheaders(self, flow: Any) -> Any:
        if not self.wait:
            self.calls.append(self.name)
            return None
        return self._later()

    async def _later(self) -> None:
        await asyncio.sleep(0.01)
        self.calls.append(f"{self.name} after waiting")


class Alone:
    def response(self, flow: Any) -> None: ...


def test_parts_are_called_in_order_and_a_waiting_part_before_the_next() -> None:
    calls: list[str] = []
    g = Guarita([Part("a", calls), Part("b", calls, wait=True), Part("c", calls)])
    pending = g.requestheaders(tflow.tflow())  # type: ignore[attr-defined]
    assert calls == ["a"] and pending is not None  # c waits for b
    asyncio.run(pending)
    assert calls == ["a", "b after waiting", "c"]
    calls.clear()
    quick = Guarita([Part("a", calls), Part("c", calls)])
    assert quick.requestheaders(tflow.tflow()) is None  # type: ignore[attr-defined]
    assert calls == ["a", "c"]


def test_a_hook_of_one_part_is_its_own_method_and_one_of_none_is_no_attribute() -> None:
    alone = Alone()
    g = Guarita([Part("a", []), alone])
    assert g.response == alone.response  # type: ignore[attr-defined]
    assert not hasattr(g, "tcp_message") and not hasattr(g, "update")
    assert not hasattr(g, "addons")  # mitmproxy would visit children on every event


def test_through_mitmproxy_load_configure_and_a_request_reach_every_part(
        caplog: pytest.LogCaptureFixture) -> None:
    calls: list[str] = []

    class Failing:
        def requestheaders(self, flow: Any) -> None:
            raise RuntimeError("a part failed")

    g = Guarita([Part("a", calls), Failing(), Part("b", calls)])
    with taddons.context(g) as tctx:
        assert calls[:2] == ["load a", "load b"]
        tctx.options.update(part_b=3)
        assert calls[-1] == "configure b"
        calls.clear()
        caplog.set_level(logging.ERROR)
        asyncio.run(tctx.master.addons.handle_lifecycle(HttpRequestHeadersHook(tflow.tflow())))
    # mitmproxy logs the error; the parts after the failing one are not called, as with
    # children: a part's failure never lets a later part act on a half-handled request
    assert calls == ["a"]
    assert "Addon error: a part failed" in caplog.text


def test_an_async_load_or_configure_is_refused() -> None:
    class AsyncConfigure:
        async def configure(self, updated: set[str]) -> None: ...

    with pytest.raises(TypeError, match="configure cannot be async"):
        Guarita([AsyncConfigure()])
