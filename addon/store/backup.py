"""`guarita db backup FILE`: the embedded installation in one SQLite file, copied online.

SQLite's online backup API copies a database page by page while the proxy keeps writing
(it restarts a pass when a page it copied changes), so each copy is one committed state,
never the torn file a `cp` of a WAL database can give. The state database is copied into
FILE first; the audit log is then copied beside it and moved into FILE as its `audit`
table with its indexes, so one file holds every session, block, release, request, admin
record and audit record (open it with `sqlite3` or Datasette as it is). The copy is
written next to FILE and renamed into place once checked: FILE is never half a backup.
PostgreSQL is backed up by its own tool (`pg_dump`, docs/deployment.md).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from addon.errors import StateError
from addon.policy.paths import Paths
from addon.store.revisions import VERSION_TABLE
from addon.store.url import redact

PAGES_PER_STEP = 1024  # 4 MB at a time: a writer waits at most one step for its lock


def _online_copy(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    out = sqlite3.connect(target)
    try:
        src.backup(out, pages=PAGES_PER_STEP)
    finally:
        src.close()
        out.close()


def _merge_audit(into: sqlite3.Connection, audit_copy: Path) -> None:
    """The audit copy's tables and indexes, recreated in `into` with their rows."""
    into.execute("ATTACH DATABASE ? AS a", (str(audit_copy),))
    try:
        objects = into.execute("SELECT type, name, sql FROM a.sqlite_master WHERE sql IS NOT "
                               "NULL AND name NOT LIKE 'sqlite_%' ORDER BY type = 'index'"
                               ).fetchall()
        with into:
            for kind, name, sql in objects:
                if kind == "table" and name == VERSION_TABLE and _has(into, name):
                    # each file's revision of its own branch: one table holds both rows
                    into.execute(f"INSERT INTO main.{name} SELECT * FROM a.{name}")  # noqa: S608
                elif kind == "table":
                    into.execute(sql)
                    into.execute(f"INSERT INTO main.[{name}] SELECT * FROM a.[{name}]")  # noqa: S608
                elif kind in ("index", "view"):
                    into.execute(sql)
    finally:
        into.execute("DETACH DATABASE a")


def _has(conn: sqlite3.Connection, table: str) -> bool:
    return conn.execute("SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = ?",
                        (table,)).fetchone() is not None


def backup(paths: Paths, dest: Path) -> list[str]:
    """Copy state.db and audit.db into the one file `dest`; one line with its tables' rows."""
    if paths.database:
        raise StateError(f"{redact(paths.database)}: PostgreSQL is backed up with pg_dump "
                         "(docs/deployment.md: pg_dump -Fc -f guarita.dump URL)")
    state_file, audit_file = paths.state_file, paths.audit_file
    if not state_file.exists() and not audit_file.exists():
        raise StateError(f"{paths.state_dir}: no state.db or audit.db to back up yet")
    if dest.is_dir():
        raise StateError(f"{dest}: is a folder; give the backup file's name")
    if dest.resolve() in (state_file.resolve(), audit_file.resolve()):
        raise StateError(f"{dest}: the backup would overwrite the database itself")
    partial = dest.with_name(dest.name + ".partial")
    audit_copy = dest.with_name(dest.name + ".audit.partial")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        for leftover in (partial, audit_copy):
            leftover.unlink(missing_ok=True)
        if state_file.exists():
            _online_copy(state_file, partial)
        out = sqlite3.connect(partial)
        try:
            if audit_file.exists():
                _online_copy(audit_file, audit_copy)
                _merge_audit(out, audit_copy)
            tables = [r[0] for r in out.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                "'sqlite_%' ORDER BY name")]
            counts = ", ".join(
                f"{t} {out.execute(f'SELECT count(*) FROM [{t}]').fetchone()[0]}"  # noqa: S608
                for t in tables)
            check = out.execute("PRAGMA quick_check").fetchone()[0]
            out.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        finally:
            out.close()
        if check != "ok":
            raise StateError(f"{dest}: the copy does not check ({check}); nothing replaced")
        os.replace(partial, dest)
    except (sqlite3.Error, OSError) as exc:
        raise StateError(f"{dest}: cannot back up: {exc}") from exc
    finally:
        for leftover in (partial, audit_copy):
            with contextlib.suppress(OSError):
                leftover.unlink()
    return [f"{dest}: {counts}"]
