"""`guarita db backup DIR`: a consistent copy of the embedded SQLite databases, online.

SQLite's online backup API copies a database page by page while the proxy keeps writing
(it restarts a pass when a page it copied changes), so the copy is one committed state,
never a torn file as `cp` of a WAL database can be. PostgreSQL is backed up by its own
tool (`pg_dump`, docs/deployment.md): guarita has nothing to add to it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from addon.errors import StateError
from addon.policy.model import Paths
from addon.state import db
from addon.store.url import redact

PAGES_PER_STEP = 1024  # 4 MB at a time: the writer waits at most one step for its lock


def backup(paths: Paths, dest: Path) -> list[str]:
    """Copy state.db and audit.db into `dest`; one line each, with the pages and tables."""
    if paths.database:
        raise StateError(f"{redact(paths.database)}: PostgreSQL is backed up with pg_dump "
                         "(docs/deployment.md: pg_dump -Fc -f guarita.dump URL)")
    dest.mkdir(parents=True, exist_ok=True)
    lines = []
    for source in (db.state_path(paths.state_dir), paths.audit_file):
        target = dest / source.name
        if not source.exists():
            lines.append(f"{source}: not there yet, nothing to copy")
            continue
        if target.resolve() == source.resolve():
            raise StateError(f"{target}: the backup would overwrite the database itself")
        try:
            src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
            out = sqlite3.connect(target)
            try:
                src.backup(out, pages=PAGES_PER_STEP)
                tables = [r[0] for r in out.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
                counts = ", ".join(
                    f"{t} {out.execute(f'SELECT count(*) FROM [{t}]').fetchone()[0]}"  # noqa: S608
                    for t in tables if not t.startswith("sqlite_"))
                check = out.execute("PRAGMA quick_check").fetchone()[0]
            finally:
                src.close()
                out.close()
        except (sqlite3.Error, OSError) as exc:
            raise StateError(f"{source}: cannot back up to {target}: {exc}") from exc
        if check != "ok":
            raise StateError(f"{target}: the copy does not check: {check}")
        lines.append(f"{source} -> {target}: {counts}")
    return lines
