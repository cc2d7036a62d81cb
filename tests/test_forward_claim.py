"""claim: one sender per target, on one machine (flock) and across nodes (advisory lock)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

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
    a.release()  # the connection stays open (a changed target): the claim is let go at once
    assert b.take(second)
    assert not a.take(first)
    b.release()
    assert a.take(first)
    first.close()
    second.close()


def test_a_sender_that_dies_hands_the_target_on(any_ws: Workspace) -> None:
    policy = load_policy(any_ws.config)
    state = made(policy.paths)
    holder = subprocess.Popen(  # takes the claim, says so, and dies without letting go
        [sys.executable, "-c", DIES, str(any_ws.config)], stdout=subprocess.PIPE, text=True,
        cwd=Path(__file__).resolve().parents[1])
    assert holder.stdout is not None and holder.stdout.readline().strip() == "taken"
    b = Claim(policy.paths, "siem")
    assert not b.take(state)
    holder.communicate(timeout=30)
    assert holder.returncode == 9
    deadline = time.monotonic() + 10  # PostgreSQL's backend exits after its client has gone
    while not b.take(state):
        assert time.monotonic() < deadline, "the dead sender's claim was never let go"
        time.sleep(0.05)
    state.close()


DIES = """
import os, sys
from addon.forward.claim import Claim
from addon.settings.load import load_policy
from addon.state import db
policy = load_policy(sys.argv[1])
claim, state = Claim(policy.paths, "siem"), db.connect(policy.paths)  # both kept alive
assert claim.take(state)
print("taken", flush=True)
os._exit(9)
"""
