"""claim: one sender per target, on one machine (flock) and across nodes (advisory lock)."""

from __future__ import annotations

from addon.forward.claim import Claim
from addon.settings.load import load_policy
from tests.conftest import Workspace
from tests.support.store import made


def test_one_sender_per_target_until_it_lets_go(any_ws: Workspace) -> None:
    policy = load_policy(any_ws.config)
    first, second = made(policy.paths), made(policy.paths)  # two processes, or two nodes
    a, b = Claim(policy.paths, "siem"), Claim(policy.paths, "siem")
    assert a.take(first) and a.take(first)  # held: still this one's
    assert not b.take(second)
    assert Claim(policy.paths, "other").take(second)  # each target has its own
    a.release()
    first.close()  # PostgreSQL's lock goes with its session
    assert b.take(second)
    second.close()
