"""One sender per target: whichever worker or node holds the target's claim forwards it.

`guarita run --workers` forwards from worker 0 only; the claim covers what that cannot: two
`guarita run` on one folder (a lock file, flock) or several nodes of one PostgreSQL
(a session advisory lock: let go of at `release`, and by PostgreSQL when the connection
ends, so a node that dies hands the target to the next one within a round).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from addon.policy.paths import Paths
from addon.store import dialect
from addon.store.errors import StoreError
from addon.store.seam import Connection


class Claim:
    def __init__(self, paths: Paths, target: str) -> None:
        self.paths, self.target = paths, target
        self._fd: int | None = None
        self._conn: Connection | None = None  # the connection holding PostgreSQL's

    def take(self, state: Connection) -> bool:
        """Whether this process may forward the target now (taken, or still held)."""
        if dialect(state) == "postgresql":
            if self._conn is state:
                return True
            row = state.execute("SELECT pg_try_advisory_lock(hashtext(?))",
                                (self._key,)).fetchone()
            state.commit()
            if row and row[0]:
                self._conn = state
                return True
            return False
        if self._fd is not None:
            return True
        path = Path(self.paths.state_dir) / f"forward-{self.target}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None
        if self._conn is not None:
            # Said, not left to the connection's end: a changed target keeps its connection,
            # and a closed one's backend lets go only when the server notices, later.
            with contextlib.suppress(StoreError):
                self._conn.execute("SELECT pg_advisory_unlock(hashtext(?))", (self._key,))
                self._conn.commit()
            self._conn = None

    @property
    def _key(self) -> str:
        return f"guarita-forward:{self.target}"
