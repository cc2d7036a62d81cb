"""reload: one runtime swapped whole; a broken policy keeps the last good one; fixing it is seen."""

from __future__ import annotations

import logging

import pytest
from mitmproxy import exceptions

from tests.proxy.conftest import Chain


def test_a_block_is_enforced_at_the_next_tick_with_no_stale_memo(chain: Chain) -> None:
    chain.login("servidor", "10.0.0.5")
    rt = chain.reload.runtime
    assert rt.identity(None, "10.0.0.5", 1e9).blocked_user is None  # memoised now
    chain.ws.run("block", "user", "servidor", "--reason", "Art. 19", check=True)
    chain.reload.tick()
    new = chain.reload.runtime
    assert new is not rt and new.policy is rt.policy  # state changed: one new runtime
    assert new.identity(None, "10.0.0.5", 1e9 + 1).blocked_user == "Art. 19"


def test_broken_policy_is_refused_and_fixing_it_is_adopted_with_a_line(
        chain: Chain, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    good = chain.ws.config.read_text()
    before = chain.reload.runtime
    chain.ws.config.write_text(good + "\nlevels: [oops\n")
    chain.reload.tick()
    assert chain.reload.runtime is before
    assert chain.metric("guarita_policy_file_broken") == 1
    assert any("keeping the last good one" in r.message for r in caplog.records)
    chain.ws.config.write_text(good.replace("Comitê", "Comite"))
    chain.reload.tick()
    assert chain.reload.runtime is not before
    assert chain.metric("guarita_policy_file_broken") == 0
    assert any("fixed: adopted again" in r.message for r in caplog.records)
    assert chain.metric("guarita_last_reload_timestamp_seconds") > 0


def test_a_misspelt_key_is_refused_by_the_running_proxy_naming_it(
        chain: Chain, caplog: pytest.LogCaptureFixture) -> None:
    good = chain.ws.config.read_text()
    before = chain.reload.runtime
    chain.ws.config.write_text(good.replace("blocked:\n", "blokced:\n", 1)
                               .replace("  allow: []", "  alow: []", 1))
    chain.reload.tick()
    assert chain.reload.runtime is before and before.policy.blocked  # the last good one
    assert chain.metric("guarita_policy_file_broken") == 1
    refused = [r.message for r in caplog.records if "keeping the last good one" in r.message]
    assert [m.split(": ", 3)[-1] for m in refused] == [
        "blokced: unknown key (did you mean 'blocked'?)",
        "ip_literals.alow: unknown key (did you mean 'allow'?)"]
    assert chain.metric("guarita_reloads_total", {"what": "policy", "result": "error"}) == 1


def test_a_category_edit_swaps_the_index(chain: Chain) -> None:
    before = chain.reload.runtime.index
    chain.ws.run("categories", "add", "games", "novo-jogo.example", check=True)
    chain.reload.tick()
    rt = chain.reload.runtime
    assert rt.index is not before and rt.index.categories_of("novo-jogo.example") == ("games",)


def test_the_first_policy_must_load(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from mitmproxy.test import taddons
    from prometheus_client import CollectorRegistry

    from addon.proxy.metrics import Metrics
    from addon.proxy.reload import Reload

    # loading the add-on reads the option's default (config/policy.yaml of the working
    # folder) first: a copy of the test's own, never the checkout's policy and state
    from tests.conftest import copy_shipped

    monkeypatch.chdir(copy_shipped(tmp_path).root)
    r = Reload(Metrics(CollectorRegistry()))
    with taddons.context(r) as tctx, pytest.raises(exceptions.OptionsError, match="missing.yaml"):
        tctx.configure(r, guarita_policy=str(tmp_path / "missing.yaml"))


def test_a_broken_file_named_later_keeps_the_running_policy(chain: Chain) -> None:
    before = chain.reload.runtime
    bad = chain.ws.root / "bad.yaml"
    bad.write_text("timezone: Mars/Olympus\n")
    chain.tctx.options.update(guarita_policy=str(bad))
    assert chain.reload.runtime is before
