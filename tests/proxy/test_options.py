"""options: durations set with `--set NAME=VALUE` as an operator types them."""

from __future__ import annotations

import pytest
from mitmproxy import exceptions

from tests.proxy.conftest import Chain


@pytest.mark.parametrize("name, text, attr, value", [
    ("guarita_reload_interval", "0.25", "reload", 0.25),
    ("guarita_notify_interval", "1.5", "notifier", 1.5),
])
def test_a_fractional_duration_can_be_set_as_text(chain: Chain, name: str, text: str,
                                                  attr: str, value: float) -> None:
    chain.tctx.options.set(f"{name}={text}")  # what `guarita run --set` does
    assert getattr(chain, attr).interval == value


def test_session_hours_take_a_fraction(chain: Chain) -> None:
    chain.tctx.options.set("guarita_session_hours=0.01")  # was: Unsupported option type
    assert chain.tctx.options.guarita_session_hours == "0.01"


@pytest.mark.parametrize("bad", ["0", "-1", "nan", "inf", "soon", ""])
def test_a_duration_that_is_not_a_positive_number_names_the_option(chain: Chain, bad: str) -> None:
    with pytest.raises(exceptions.OptionsError, match="guarita_reload_interval: .* positive"):
        chain.tctx.options.set(f"guarita_reload_interval={bad}")
