"""The audit table and its indexes: plain SQLite, readable by Datasette as it is.

COLUMN_TYPES (`addon/audit/columns.py`) is the one declaration of the log's columns: the
writer's INSERT and COPY, and the declared schema (addon/store/tables.py) come from it. To
add a column, append it there and to `record()`, and write the revision that adds it to both engines
(docs/architecture.md, "A change of the schema"); a test compares the migrated databases of
both engines with the declaration.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from addon.audit.columns import COLUMN_TYPES
from addon.errors import StateError
from addon.store import files, ready
from addon.store.files import SqliteConnection
from addon.store.seam import Connection, quoted

COLUMNS: tuple[str, ...] = tuple(name for name, _ in COLUMN_TYPES)
NAMES = ", ".join(map(quoted, COLUMNS))  # the column list of a statement ("user" quoted)
# One index per filter auditors use, each ending in ts so ranges and ORDER BY ts stay indexed.
INDEXES = (("ts",), ("user", "ts"), ("client_ip", "ts"), ("host", "ts"), ("decision", "ts"),
           ("ref",))
INSERT = "INSERT INTO audit ({}) VALUES ({})".format(  # noqa: S608 - fixed column names
    NAMES, ", ".join("?" for _ in COLUMNS)
)

# The records of an id range as stored, id first (the seals' read-back and `audit verify`)
BY_IDS = f"SELECT id, {NAMES} FROM audit WHERE id BETWEEN ? AND ? ORDER BY id"  # noqa: S608


def local_view(conn: Connection, tz: ZoneInfo, now: float | None = None) -> None:
    """(Re)create `audit_local`: every record with its time in the institution's zone,
    for auditors reading the file directly (`datasette var/audit.db`).

    SQLite knows no time zones, so the view uses the zone's present UTC offset (Brazil has
    had no daylight saving time since 2019); the CLI and the console convert each record.
    """
    now = time.time() if now is None else now
    offset = dt.datetime.fromtimestamp(now, tz).utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    cols = ", ".join(quoted(c) for c in COLUMNS if c != "ts")
    with conn:
        conn.execute("DROP VIEW IF EXISTS audit_local")
        conn.execute(
            "CREATE VIEW audit_local AS SELECT id, "  # noqa: S608 - fixed names, an int
            f"datetime(ts, 'unixepoch', '{minutes:+d} minutes') AS local_time, {cols} "
            "FROM audit")


def open_audit(path: Path) -> SqliteConnection:
    """Open the audit database (made, at this guarita's revision) for the writer: WAL and
    synchronous=NORMAL."""
    if not path.exists():
        ready.check(str(path), "audit", set())  # refused: not made yet
    try:
        raw = sqlite3.connect(path, timeout=2, check_same_thread=False, isolation_level=None)
    except sqlite3.Error as exc:
        raise files.error(exc) from exc
    conn = SqliteConnection(raw)
    try:
        ready.check_sqlite(conn, path, "audit")
    except StateError:
        conn.close()
        raise
    conn.execute("PRAGMA synchronous=NORMAL")
    # The writer's own settings: a 2 MB page cache (SQLite's default), and a 40 MB WAL
    # between checkpoints means fewer fsyncs. The cache fills with the pages the log's
    # growth touches and stays full, so its size is the proxy's RSS: 64 MB wrote ~25%
    # faster on a big log but grew the proxy by 64 MB; 8 MB and 2 MB write the same within
    # noise (bench_audit, 300,000 records: 51-59k and 39-59k records/s), some fifty times
    # what one proxy core makes, and 2 MB keeps 6.6 MB of RSS off every proxy (bench_soak).
    conn.execute("PRAGMA cache_size=-2048")
    conn.execute("PRAGMA wal_autocheckpoint=10000")
    raw.isolation_level = "DEFERRED"  # back to implicit transactions for the writer's batches
    return conn
