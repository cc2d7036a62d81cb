"""Schema migrations keyed by SQLite's `PRAGMA user_version`.

A database records how many steps it has been through; opening it runs the
missing ones, each in one transaction with its version bump, so a crash
midway leaves the database at a step boundary. A database made by a newer
guarita is refused rather than written with an older idea of its columns.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

from addon.errors import StateError

Step = Callable[[sqlite3.Connection], None]


def migrate(conn: sqlite3.Connection, steps: Sequence[Step], what: str) -> int:
    """Bring `conn` to `len(steps)`; returns the number of steps applied."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > len(steps):
        raise StateError(f"{what}: schema version {version} is newer than this guarita knows "
                         f"({len(steps)}); upgrade guarita")
    for n, step in enumerate(steps[version:], start=version + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # another process may have migrated while we waited for the write lock
            if int(conn.execute("PRAGMA user_version").fetchone()[0]) >= n:
                conn.rollback()
                continue
            step(conn)
            conn.execute(f"PRAGMA user_version = {n}")
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    return len(steps) - version


def columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}  # noqa: S608
