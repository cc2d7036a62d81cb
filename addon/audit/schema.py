"""The audit table and its indexes: plain SQLite, readable by Datasette as it is.

The schema moves forward by numbered steps (`addon.store.migrate`): an audit.db
written by an older guarita gains the new columns when a newer one opens it.
To add a column, append it to COLUMN_TYPES and to `record()`: the steps of both engines
(here, and `addon.audit.pg`) follow from that one list.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from addon.store.migrate import columns, migrate

# Every column of the audit log, in order, with its type: the one declaration both engines'
# migration steps come from. APPEND-ONLY: a new column goes at the end (and into `record()`);
# its steps then follow by themselves, an ALTER TABLE on SQLite and on PostgreSQL, while the
# steps already shipped stay as they were (each engine's first step is the prefix below).
COLUMN_TYPES: tuple[tuple[str, type], ...] = (
    ("ts", float), ("ref", str), ("user", str), ("client_ip", str), ("machine_level", int),
    ("user_level", int), ("level", int), ("method", str), ("scheme", str), ("host", str),
    ("port", int), ("path", str), ("status", int), ("decision", str), ("rule", str),
    ("categories", str), ("release_id", int), ("bytes_in", int), ("bytes_out", int),
    ("duration_ms", float), ("source", str),
)
SQLITE_FIRST = 20  # columns of SQLite's first step (its second added `source`)
PG_FIRST = 21  # columns of PostgreSQL's first step (it shipped with `source`)
COLUMNS: tuple[str, ...] = tuple(name for name, _ in COLUMN_TYPES)
V1_TYPES: dict[str, type] = dict(COLUMN_TYPES[:SQLITE_FIRST])
# One index per filter auditors use, each ending in ts so ranges and ORDER BY ts stay indexed.
INDEXES = (("ts",), ("user", "ts"), ("client_ip", "ts"), ("host", "ts"), ("decision", "ts"),
           ("ref",))
INSERT = "INSERT INTO audit ({}) VALUES ({})".format(  # noqa: S608 - fixed column names
    ", ".join(COLUMNS), ", ".join("?" for _ in COLUMNS)
)


_SQL_TYPES = {int: "INTEGER", float: "FLOAT", str: "TEXT"}


def _v1_table(conn: sqlite3.Connection) -> None:
    """The first schema, as sqlite-utils wrote it (the same names, so old files match).

    Written as SQL rather than through sqlite-utils, which imports numpy when it is
    installed: 16 MB in every proxy that starts on a new log.
    """
    cols = ",\n".join(f"   [{name}] {_SQL_TYPES[t]}" for name, t in V1_TYPES.items())
    conn.execute(f"CREATE TABLE IF NOT EXISTS [audit] (\n   [id] INTEGER PRIMARY KEY,\n{cols}\n)")
    for index in INDEXES:
        name = "idx_audit_" + "_".join(index)
        on = ", ".join(f"[{c}]" for c in index)
        conn.execute(f"CREATE INDEX IF NOT EXISTS [{name}]\n    ON [audit] ({on})")


def _added(name: str, kind: type) -> Callable[[sqlite3.Connection], None]:
    def step(conn: sqlite3.Connection) -> None:
        if name not in columns(conn, "audit"):
            conn.execute(f"ALTER TABLE audit ADD COLUMN [{name}] {_SQL_TYPES[kind]}")

    step.__doc__ = f"audit gains `{name}`"
    return step


def sqlite_steps(column_types: Sequence[tuple[str, type]] = COLUMN_TYPES
                 ) -> tuple[Callable[[sqlite3.Connection], None], ...]:
    """The first table, then one step per column declared after it."""
    return (_v1_table, *(_added(n, k) for n, k in column_types[SQLITE_FIRST:]))


STEPS = sqlite_steps()


def local_view(conn: sqlite3.Connection, tz: ZoneInfo, now: float | None = None) -> None:
    """(Re)create `audit_local`: every record with its time in the institution's zone,
    for auditors reading the file directly (`datasette var/audit.db`).

    SQLite knows no time zones, so the view uses the zone's present UTC offset (Brazil has
    had no daylight saving time since 2019); the CLI and the console convert each record.
    """
    now = time.time() if now is None else now
    offset = dt.datetime.fromtimestamp(now, tz).utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    cols = ", ".join(c for c in COLUMNS if c != "ts")
    with conn:
        conn.execute("DROP VIEW IF EXISTS audit_local")
        conn.execute(
            "CREATE VIEW audit_local AS SELECT id, "  # noqa: S608 - fixed names, an int
            f"datetime(ts, 'unixepoch', '{minutes:+d} minutes') AS local_time, {cols} "
            "FROM audit")


def open_audit(path: Path) -> sqlite3.Connection:
    """Open (create, migrate) the audit database: WAL and synchronous=NORMAL for the writer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=2, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    # The writer's own settings: an 8 MB page cache (SQLite's default is 2 MB) for the hot
    # index pages, and a 40 MB WAL between checkpoints means fewer fsyncs. A 64 MB cache
    # wrote ~25% faster (bench_audit) but grew the proxy by 64 MB as the log grew, bounded
    # only late; 8 MB still writes 35k+ records/s, forty times what one proxy core makes.
    conn.execute("PRAGMA cache_size=-8192")
    conn.execute("PRAGMA wal_autocheckpoint=10000")
    migrate(conn, STEPS, str(path))
    conn.isolation_level = "DEFERRED"  # back to implicit transactions for the writer's batches
    return conn
