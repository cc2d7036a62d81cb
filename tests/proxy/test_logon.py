"""proxy/logon: the logon endpoint starts and stops with the proxy's options."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from mitmproxy import exceptions

from tests.conftest import free_port
from tests.proxy.conftest import Chain


def test_endpoint_starts_with_a_token_and_refuses_without(chain: Chain,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.delenv("GUARITA_SESSION_TOKEN", raising=False)
    with pytest.raises(exceptions.OptionsError):
        chain.tctx.options.update(guarita_session_port=port)
    monkeypatch.setenv("GUARITA_SESSION_TOKEN", "x" * 24)
    chain.tctx.options.update(guarita_session_port=port)
    req = urllib.request.Request(f"http://127.0.0.1:{port}/login", data=b"user=servidor",
                                 headers={"Authorization": "Bearer " + "x" * 24})
    assert urllib.request.urlopen(req, timeout=5).status == 200
    chain.reload.tick()
    assert chain.reload.runtime.snapshot.sessions["127.0.0.1"] == "servidor"
    bad = urllib.request.Request(f"http://127.0.0.1:{port}/login", data=b"user=servidor",
                                 headers={"Authorization": "Bearer wrong-token-000000"})
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(bad, timeout=5)
    assert chain.metric("guarita_logon_events_total", {"event": "bad_token"}) == 1
    chain.tctx.options.update(guarita_session_port=0)
    assert chain.logon.endpoint is None


def test_a_short_legacy_token_is_refused_at_start_with_the_reason(chain: Chain,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARITA_SESSION_TOKEN", "short")
    with pytest.raises(exceptions.OptionsError, match="at least 16"):
        chain.tctx.options.update(guarita_session_port=free_port())
