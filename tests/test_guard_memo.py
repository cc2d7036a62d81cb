"""Guard.identity's memo: fast for repeated requests, never stale past a state change."""

from __future__ import annotations

import time

from addon.guard import IDENTITY_MEMO_SECONDS, Guard
from addon.identity.directory import StaticDirectory
from addon.policy.model import Policy
from addon.state import blocks, releases


class CountingDirectory(StaticDirectory):
    def __init__(self, policy: Policy) -> None:
        super().__init__(policy)
        self.asked = 0

    def lookup(self, login: str):  # noqa: ANN201
        self.asked += 1
        return super().lookup(login)


def test_identity_memo_is_dropped_by_state_changes_and_time(ws) -> None:  # noqa: ANN001
    guard = Guard(ws.config, ws.root, directory_factory=CountingDirectory)
    directory = guard.directory
    assert isinstance(directory, CountingDirectory)
    now = time.time()
    first = guard.identity("servidor", "10.0.0.7", now)
    assert guard.identity("servidor", "10.0.0.7", now + 1) is first and directory.asked == 1
    assert guard.identity("servidor", "10.0.0.8", now + 1) is not first  # per address
    # time: past the memo's life, or a clock that went back, asks again
    guard.identity("servidor", "10.0.0.7", now + IDENTITY_MEMO_SECONDS + 0.1)
    guard.identity("servidor", "10.0.0.7", now - 1)
    assert directory.asked == 4
    # state: a block and a level-4 grant are seen at once after the state is re-read
    conn = guard.connection()
    blocks.block(conn, "user", "servidor", "Art. 19", "ti")
    guard.refresh_state(force=True)
    assert guard.identity("servidor", "10.0.0.7", now + 1).blocked_user == "Art. 19"
    blocks.unblock(conn, "user", "servidor", "SubPGJ", "ti")
    releases.grant_level4(conn, "servidor", now + 86400, "CGTI-1/2026", "projeto", "ti")
    guard.refresh_state(force=True)
    ident = guard.identity("servidor", "10.0.0.7", now + 1)
    assert ident.blocked_user is None and ident.level4_until == now + 86400
