"""`guarita db upgrade`: create or migrate the state and audit schemas, and say what it did.

Every process also migrates what it opens, so a node never runs on an old schema; this
is the explicit step an operator runs (and `guarita run --workers` runs once) before
starting nodes, so that many processes never wait on one another's migration.
"""

from __future__ import annotations

import sqlite3

from addon.audit import schema as audit_schema
from addon.errors import StateError
from addon.policy.model import Paths
from addon.state import db
from addon.store.migrate import migrate
from addon.store.url import redact


def upgrade(paths: Paths) -> list[str]:
    """Bring both schemas of `paths` to this guarita's version; one line per schema."""
    if paths.database:
        return _upgrade_pg(paths.database)
    lines = []
    for what, path, steps in (("state", db.state_path(paths.state_dir), db.STEPS),
                              ("audit", paths.audit_file, audit_schema.STEPS)):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=30, isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                applied = migrate(conn, steps, str(path))
            finally:
                conn.close()
        except (sqlite3.Error, OSError) as exc:
            raise StateError(f"{path}: cannot upgrade the {what} database: {exc}") from exc
        lines.append(_line(what, str(path), applied, len(steps)))
    return lines


def _upgrade_pg(url: str) -> list[str]:
    from addon.audit import pg as pg_audit
    from addon.state import pg_schema
    from addon.store import pg

    shown = redact(url)
    try:
        conn = pg.connect(url)
        try:
            state = pg.migrate(conn, "state", pg_schema.STEPS, shown)
            audit = pg.migrate(conn, "audit", pg_audit.STEPS, shown)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StateError(f"{shown}: cannot upgrade the database: {exc}") from exc
    return [_line("state", shown, state, len(pg_schema.STEPS)),
            _line("audit", shown, audit, len(pg_audit.STEPS))]


def _line(what: str, where: str, applied: int, version: int) -> str:
    done = f"{applied} step{'s' if applied != 1 else ''} applied" if applied else "up to date"
    return f"{what}: {where}: {done} (schema version {version})"
