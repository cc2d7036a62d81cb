"""policy.destinations: the proxy's own host and protected ranges, in any spelling."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from addon.policy.destinations import DEFAULT_FORBIDDEN, forbidden_address, forbidden_host
from addon.policy.hosts import normalize_host

NETS = tuple(ipaddress.ip_network(n) for n in DEFAULT_FORBIDDEN)


@given(st.integers(min_value=0x7F000000, max_value=0x7FFFFFFF))
def test_every_spelling_of_loopback_is_forbidden(n: int) -> None:
    for spelling in (str(ipaddress.IPv4Address(n)), str(n), hex(n), f"[::ffff:{ipaddress.IPv4Address(n)}]"):
        assert forbidden_host(normalize_host(spelling), NETS, allow_loopback=False)


def test_names_and_addresses() -> None:
    assert forbidden_host("localhost", NETS, False) and forbidden_host("a.localhost", NETS, False)
    assert not forbidden_host("localhost", NETS, True)
    assert not forbidden_host("www.gov.br", NETS, False)
    assert forbidden_address("169.254.169.254", NETS, True)
    assert forbidden_address("fe80::1%eth0", NETS, False)
    assert forbidden_address("garbage", NETS, False)
    assert not forbidden_address("203.0.113.1", NETS, False)
