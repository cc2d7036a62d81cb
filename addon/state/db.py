"""The state database: one SQLite file (WAL), or PostgreSQL shared by every node.

Its schema is declared in addon/store/tables.py and made by the Alembic revisions
(`guarita db upgrade`, or each component's start: addon/store/ready.py); opening a
connection only checks, once per process, that the revision is this guarita's.

The CLI writes, the running proxy reads a snapshot and re-reads it when
`data_version` says a change was committed (SQLite's `PRAGMA data_version` on one
machine; PostgreSQL's `state_version` row, bumped by triggers, for many): that is how
a block or a release reaches every proxy within seconds, with no restart and no
polling of every table.
"""

from __future__ import annotations

from pathlib import Path

from addon.errors import StateError
from addon.policy.paths import STATE_FILE, Paths
from addon.store import dialect, files, ready
from addon.store.seam import Connection, StoreError


def state_path(state_dir: Path) -> Path:
    return state_dir / STATE_FILE


def connect(where: Paths | Path, readonly: bool = False) -> Connection:
    """Open the state database of a policy's `paths` (or of a state folder), made and at
    this guarita's revision; errors become one-line StateErrors."""
    if isinstance(where, Paths) and where.database:
        return _connect_pg(where.database)
    state_dir = where.state_dir if isinstance(where, Paths) else where
    path = state_path(state_dir)
    try:
        if not path.exists():
            ready.check(str(path), "state", set())  # refused: not made yet
        conn = files.open_file(path, readonly)
        try:
            ready.check_sqlite(conn, path, "state")
        except StateError:
            conn.close()
            raise
        return conn
    except (StoreError, OSError) as exc:
        raise StateError(f"{path}: cannot open state database: {exc}") from exc


def _connect_pg(url: str) -> Connection:
    from addon.store import pg

    try:
        conn = pg.connect(url)
        try:
            ready.check_pg(conn, url, "state")
        except StateError:
            conn.close()
            raise
    except StoreError as exc:
        raise StateError(f"{pg.redact(url)}: cannot open state database: {exc}") from exc
    # the adapter speaks the part of Connection the state modules use
    return conn


def data_version(conn: Connection) -> int:
    """A number that changes whenever someone commits a change to the state."""
    if dialect(conn) == "postgresql":
        return int(conn.execute("SELECT version FROM state_version").fetchone()[0])
    return int(conn.execute("PRAGMA data_version").fetchone()[0])
