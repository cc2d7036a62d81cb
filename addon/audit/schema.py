"""The audit table and its indexes, made with sqlite-utils; readable by Datasette as it is."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

COLUMNS: tuple[str, ...] = (
    "ts", "ref", "user", "client_ip", "machine_level", "user_level", "level", "method", "scheme",
    "host", "port", "path", "status", "decision", "rule", "categories", "release_id",
    "bytes_in", "bytes_out", "duration_ms",
)
TYPES: dict[str, type] = {
    "ts": float, "ref": str, "user": str, "client_ip": str, "machine_level": int,
    "user_level": int, "level": int, "method": str, "scheme": str, "host": str, "port": int,
    "path": str, "status": int, "decision": str, "rule": str, "categories": str,
    "release_id": int, "bytes_in": int, "bytes_out": int, "duration_ms": float,
}
# One index per filter auditors use, each ending in ts so ranges and ORDER BY ts stay indexed.
INDEXES = (("ts",), ("user", "ts"), ("client_ip", "ts"), ("host", "ts"), ("decision", "ts"),
           ("ref",))
INSERT = "INSERT INTO audit ({}) VALUES ({})".format(  # noqa: S608 - fixed column names
    ", ".join(COLUMNS), ", ".join("?" for _ in COLUMNS)
)


def open_audit(path: Path) -> sqlite3.Connection:
    """Open (and create) the audit database: WAL and synchronous=NORMAL for the writer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=2, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    # The writer's own settings: a 64 MB page cache keeps the hot index pages of every user
    # and machine in memory, and a 40 MB WAL between checkpoints means fewer fsyncs.
    conn.execute("PRAGMA cache_size=-65536")
    conn.execute("PRAGMA wal_autocheckpoint=10000")
    db = sqlite_utils.Database(conn)
    if "audit" not in db.table_names():
        db["audit"].create({"id": int, **TYPES}, pk="id")
        for cols in INDEXES:
            db["audit"].create_index(list(cols), if_not_exists=True)
    return conn
