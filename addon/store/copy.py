"""`guarita db copy --to postgresql://…`: move an embedded installation to PostgreSQL.

An institution that started on the SQLite files moves every session, block, release,
request, admin record, queued notification, shared list and audit record to the database
its nodes will share, keeping every id (a reference on a block page, a release number in
the admin history still points at the same row).

It can be run again at any time and be interrupted anywhere: each table's progress (the
last id copied) is kept in the target, in the same transaction as the rows it covers, so a
second run copies only what is new and never a row twice. The counts are checked at the
end: every row of the source must be in the target.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from addon.audit import pg as pg_audit
from addon.errors import StateError
from addon.policy.paths import Paths
from addon.store import pg, ready
from addon.store.seam import StoreError, quoted
from addon.store.url import redact

CHUNK = 5000

@dataclass(frozen=True)
class Table:
    name: str
    key: str  # the column rows are read in order of, and resumed from
    numbered: bool  # an identity column whose sequence must follow the copied ids

STATE_TABLES = (
    Table("sessions", "ip", False), Table("blocks", "id", True), Table("releases", "id", True),
    Table("admin_log", "id", True), Table("outbox", "id", True), Table("digests", "period", False),
    Table("list_files", "key", False), Table("audit_holds", "id", True),
    Table("forward_positions", "target", False), Table("audit_access", "id", True),
    Table("justifications", "id", True), Table("explanations", "id", True),
)
# the log with its seals and checkpoints: `guarita audit verify` passes on the copy
AUDIT_TABLES = (
    Table("audit", "id", True), Table("audit_seals", "id", True),
    Table("audit_checkpoints", "id", True), Table("audit_origin", "legacy_max_id", False),
)
PROGRESS = """CREATE TABLE IF NOT EXISTS guarita_copy (
  source TEXT NOT NULL, name TEXT NOT NULL, last TEXT NOT NULL, copied BIGINT NOT NULL,
  PRIMARY KEY (source, name))"""

@dataclass
class Counted:
    name: str
    source: int
    copied: int  # by this run
    target: int

    @property
    def line(self) -> str:
        ok = "ok" if self.target >= self.source else "MISSING ROWS"
        return (f"{self.name}: {self.source} in the source, {self.copied} copied now, "
                f"{self.target} in the target: {ok}")

def _columns_sqlite(conn: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA table_info([{table}])")]  # noqa: S608

def _columns_pg(conn: pg.PgConnection, table: str) -> list[str]:
    rows = conn.execute("SELECT column_name FROM information_schema.columns WHERE "
                        "table_schema = current_schema() AND table_name = ? ORDER BY "
                        "ordinal_position", (table,)).fetchall()
    return [r[0] for r in rows]

def _chunks(conn: sqlite3.Connection, table: str, key: str, columns: list[str],
            after: Any) -> Iterator[list[tuple[Any, ...]]]:
    cols = ", ".join(f"[{c}]" for c in columns)
    where = f"WHERE [{key}] > ?" if after is not None else ""
    i = columns.index(key)
    while True:
        rows = conn.execute(f"SELECT {cols} FROM [{table}] {where} ORDER BY [{key}] "  # noqa: S608
                            f"LIMIT {CHUNK}", () if after is None else (after,)).fetchall()
        if not rows:
            return
        yield [tuple(r) for r in rows]
        after = rows[-1][i]
        where = f"WHERE [{key}] > ?"

def _progress(target: pg.PgConnection, source: str, name: str) -> tuple[Any, int]:
    row = target.execute("SELECT last, copied FROM guarita_copy WHERE source = ? AND name = ?",
                         (source, name)).fetchone()
    return (None, 0) if row is None else (row[0], int(row[1]))


def _copy_table(src: sqlite3.Connection, target: pg.PgConnection, origin: str, t: Table,
                on_rows: Callable[[int], None]) -> Counted:
    if t.name not in {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type = "
                                                "'table'")}:
        return Counted(t.name, 0, 0, 0)
    wanted = set(_columns_pg(target, t.name))
    columns = [c for c in _columns_sqlite(src, t.name) if c in wanted]
    last, _ = _progress(target, origin, t.name)
    after = None if last is None else int(last) if t.numbered else last
    names = ", ".join(map(quoted, columns))
    marks = ", ".join("?" for _ in columns)
    insert = (f"INSERT INTO {quoted(t.name)} ({names}) VALUES ({marks}) "  # noqa: S608
              f"ON CONFLICT DO NOTHING")
    copied = 0
    months: set[tuple[int, int]] = set()
    for rows in _chunks(src, t.name, t.key, columns, after):
        with target:
            if t.name == "audit":
                ts = columns.index("ts")
                pg_audit.ensure_partitions(target, pg_audit.months_of([(r[ts],) for r in rows]),
                                           months)
                copy_sql = f"COPY audit ({names}) FROM STDIN"
                with target.raw.cursor() as cur, cur.copy(copy_sql) as copy:
                    for r in rows:
                        copy.write_row(pg_audit.fitted_named(columns, r))
            else:
                target.executemany(insert, rows)
            key = str(rows[-1][columns.index(t.key)])
            target.execute(
                "INSERT INTO guarita_copy (source, name, last, copied) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (source, name) DO UPDATE SET last = excluded.last, "
                "copied = guarita_copy.copied + excluded.copied",
                (origin, t.name, key, len(rows)))
        copied += len(rows)
        on_rows(len(rows))
    if t.numbered:  # new rows made on PostgreSQL go on after the copied ids
        target.execute(f"SELECT setval(pg_get_serial_sequence('{t.name}', 'id'), "  # noqa: S608
                       f"GREATEST((SELECT max(id) FROM {t.name}), 1))")
    source_n = int(src.execute(f"SELECT count(*) FROM [{t.name}]").fetchone()[0])  # noqa: S608
    row = target.execute(f"SELECT count(*) FROM {quoted(t.name)}").fetchone()  # noqa: S608
    target_n = int(row[0]) if row else 0
    return Counted(t.name, source_n, copied, target_n)


def _count(path: Path, table: str) -> int:
    if not path.exists():
        return 0
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(conn.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0])  # noqa: S608
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()

def total_rows(paths: Paths) -> int:
    """Rows in the source: the length of the progress bar."""
    state = paths.state_file
    return (sum(_count(state, t.name) for t in STATE_TABLES)
            + sum(_count(paths.audit_file, t.name) for t in AUDIT_TABLES))

def copy_to(paths: Paths, url: str, on_rows: Callable[[int], None] = lambda n: None
            ) -> list[Counted]:
    """Copy the SQLite state and audit log of `paths` into the PostgreSQL at `url`."""
    if paths.database:
        raise StateError(f"{redact(paths.database)}: this policy already uses PostgreSQL; "
                         "db copy reads the embedded SQLite files")
    if not pg.is_url(url):
        raise StateError(f"--to: must be a postgresql:// URL, got {redact(url)!r}")
    state_file = paths.state_file
    if not state_file.exists() and not paths.audit_file.exists():
        raise StateError(f"{paths.state_dir}: no state.db or audit.db to copy")
    shown = redact(url)
    ready.ensure(paths)  # the source at this guarita's schema: every column it copies exists
    try:
        target = pg.connect(url)
    except StoreError as exc:
        raise StateError(f"{shown}: cannot connect: {exc}") from exc
    ready.ensure_pg(url)
    out: list[Counted] = []
    try:
        target.execute(PROGRESS)
        for path, tables in ((state_file, STATE_TABLES),
                             (paths.audit_file, AUDIT_TABLES)):
            if not path.exists():
                continue
            src = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
            try:
                for t in tables:
                    out.append(_copy_table(src, target, str(path.resolve()), t, on_rows))
            finally:
                src.close()
    except (sqlite3.Error, psycopg.Error, StoreError) as exc:  # COPY is psycopg's own
        raise StateError(f"{shown}: copy stopped, run it again to resume: {exc}") from exc
    finally:
        target.close()
    return out
