"""A database at this guarita's schema before anything uses it: applied at start-up,
only checked by a connection.

Each component that starts (a command of the CLI, the proxy's runtime and audit writer,
`guarita run` before them) calls `ensure`, which reads the revision with the plain driver
and applies the missing ones (addon.store.upgrade) only when some are missing.
`guarita run` calls `prepare`, which does that in a child process, so the proxy never
loads SQLAlchemy and Alembic. A connection only calls `check`: it reads the revision once
per process and database, and refuses one that is behind or newer in one line; it never
writes, so an auditor's SELECT-only account opens the log.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from addon.errors import StateError
from addon.policy.paths import STATE_FILE, Paths
from addon.store.revisions import KNOWN, Standing, head, read_pg, read_sqlite, standing
from addon.store.seam import Connection
from addon.store.url import redact

_checked: set[tuple[str, str]] = set()
# Alembic's `op` and `context` are per process, not per thread: two threads of one process
# (the runtime and an audit writer starting together) upgrade one after the other.
_upgrading = threading.Lock()


def _standings_sqlite(path: Path, branch: str) -> Standing:
    if not path.exists():
        return Standing(branch, None)
    try:
        raw = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return standing(read_sqlite(raw), branch)
        finally:
            raw.close()
    except sqlite3.Error as exc:
        raise StateError(f"{path}: cannot read the {branch} database: {exc}") from exc


def _standings_pg(url: str) -> list[Standing]:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5, autocommit=True) as raw:
            found = read_pg(raw)
    except psycopg.Error as exc:
        raise StateError(f"{redact(url)}: cannot read the database: "
                         f"{' '.join(str(exc).split())}") from exc
    return [standing(found, branch) for branch in KNOWN]


def _lacking(paths: Paths) -> list[Standing]:
    """The branches not at their head (none read again once a connection checked them)."""
    if paths.database:
        if all((redact(paths.database), b) in _checked for b in KNOWN):
            return []
        found = _standings_pg(paths.database)
    else:
        found = [_standings_sqlite(path, branch)
                 for path, branch in ((paths.state_file, "state"), (paths.audit_file, "audit"))
                 if (str(path), branch) not in _checked]
    return [s for s in found if not s.current]


def ensure(paths: Paths) -> list[str]:
    """Apply whatever revisions the state and audit databases lack (nothing, and no lock,
    when they have them all); the lines `guarita db upgrade` would print, if anything ran."""
    if not _lacking(paths):
        return []
    from addon.store.upgrade import upgrade

    with _upgrading:
        return upgrade(paths) if _lacking(paths) else []


def ensure_at(where: Paths | Path) -> None:
    """`ensure` for a policy's paths, or for the state database of a state folder."""
    if isinstance(where, Paths):
        ensure(where)
    else:
        ensure_sqlite(where / STATE_FILE, "state")


def ensure_sqlite(path: Path, branch: str) -> None:
    """`ensure` for one SQLite file (the audit writer knows only its own)."""
    if (str(path), branch) in _checked or _standings_sqlite(path, branch).current:
        return
    from addon.store.upgrade import upgrade_sqlite

    with _upgrading:
        if not _standings_sqlite(path, branch).current:
            upgrade_sqlite(path, branch)


def ensure_pg(url: str) -> None:
    """`ensure` for one PostgreSQL database (both branches)."""
    if all((redact(url), branch) in _checked for branch in KNOWN):
        return
    if all(s.current for s in _standings_pg(url)):
        return
    from addon.store.upgrade import upgrade_pg

    with _upgrading:
        if not all(s.current for s in _standings_pg(url)):
            upgrade_pg(url)


def prepare(paths: Paths, config: Path) -> None:
    """`ensure`, in a child process when anything is missing (`guarita db upgrade`): the
    process that goes on to proxy keeps SQLAlchemy and Alembic out of its memory."""
    if not _lacking(paths):
        return
    done = subprocess.run([sys.executable, "-m", "addon.cli.main", "db", "upgrade",
                           "--config", str(config)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise StateError(lines[-1].removeprefix("error: ") if lines else
                         f"guarita db upgrade failed (exit {done.returncode})")


def check(where: str, branch: str, found: set[str]) -> None:
    """Refuse a database whose `branch` is not at this guarita's head (read once per process:
    `found` is its version rows, from the connection the caller just opened)."""
    if (where, branch) in _checked:
        return
    at = standing(found, branch)
    if at.newer:
        raise StateError(f"{where}: schema revision {at.at} is newer than this guarita knows "
                         f"({head(branch)}); upgrade guarita")
    if not at.current:
        now = f"at revision {at.at}" if at.at else "not made yet"
        raise StateError(f"{where}: the {branch} schema is {now}, this guarita needs "
                         f"{head(branch)}: run `guarita db upgrade`")
    _checked.add((where, branch))


def check_sqlite(raw: Connection, where: Path, branch: str) -> None:
    if (str(where), branch) not in _checked:
        check(str(where), branch, read_sqlite(raw))


def check_pg(raw: Any, url: str, branch: str) -> None:
    where = redact(url)
    if (where, branch) not in _checked:
        check(where, branch, read_pg(raw))


def forget() -> None:
    """Check again at the next open (a test that replaces a database under the same name)."""
    _checked.clear()
