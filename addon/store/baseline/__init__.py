"""Adopting a database from before Alembic: the first revision of each branch runs here.

A database made by an earlier guarita counted its steps itself (SQLite's `user_version`,
PostgreSQL's `guarita_schema` row); a new one has none. Either way the steps it lacks run
on the migration's own connection and transaction, and the old counter is brought up to
date too, so a guarita rolled back to the numbered steps still finds its schema whole.
"""

from __future__ import annotations

from typing import Any

from addon.errors import StateError
from addon.store.baseline import audit, state

BRANCHES = {"state": (state.SQLITE_STEPS, state.PG_STEPS),
            "audit": (audit.SQLITE_STEPS, audit.PG_STEPS)}


def upgrade(branch: str) -> None:
    """The body of each branch's first revision (run by Alembic, inside env.py)."""
    from alembic import context, op

    bind = op.get_bind()
    adopt(bind.connection.dbapi_connection, bind.dialect.name, branch,
          str(context.config.attributes.get("what", branch)))


def adopt(raw: Any, dialect: str, branch: str, what: str) -> int:
    """Run the frozen steps `raw` (the DBAPI connection, inside a transaction) lacks;
    returns how many ran. A counter beyond the frozen steps is a newer guarita's: refused."""
    sqlite_steps, pg_steps = BRANCHES[branch]
    if dialect == "sqlite":
        version = int(raw.execute("PRAGMA user_version").fetchone()[0])
        _refuse_newer(version, len(sqlite_steps), what)
        for step in sqlite_steps[version:]:
            step(raw)
        raw.execute(f"PRAGMA user_version = {len(sqlite_steps)}")
        return len(sqlite_steps) - version
    raw.execute("CREATE TABLE IF NOT EXISTS guarita_schema "
                "(name TEXT PRIMARY KEY, version INTEGER NOT NULL)")
    row = raw.execute("SELECT version FROM guarita_schema WHERE name = %s", (branch,)).fetchone()
    version = int(row[0]) if row else 0
    _refuse_newer(version, len(pg_steps), what)
    for script in pg_steps[version:]:
        raw.execute(script)  # DDL scripts, no parameters: several statements in one call
    raw.execute("INSERT INTO guarita_schema (name, version) VALUES (%s, %s) ON CONFLICT (name) "
                "DO UPDATE SET version = excluded.version", (branch, len(pg_steps)))
    return len(pg_steps) - version


def _refuse_newer(version: int, known: int, what: str) -> None:
    if version > known:
        raise StateError(f"{what}: schema version {version} is newer than this guarita knows "
                         f"({known}); upgrade guarita")
