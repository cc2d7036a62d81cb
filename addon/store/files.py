"""Opening the embedded SQLite files for the modules above the storage package: rows by
column name, the timeouts each use needs, read-only where only reading is wanted. The
writer's own connection is the audit sink's (`addon/audit/schema.py`)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from addon.store.seam import Connection


def open_file(path: Path, readonly: bool = False, timeout: float = 5.0, rows: bool = True,
              shared: bool = True) -> Connection:
    """`readonly`: the file as it is (an auditor's read, a state snapshot); `rows`: rows by
    name; `shared`: usable from the thread that did not open it (the proxy's pools)."""
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout,
                               check_same_thread=not shared)
    else:  # implicit transactions, as every caller expects
        conn = sqlite3.connect(path, timeout=timeout, check_same_thread=not shared)
    if rows:
        conn.row_factory = sqlite3.Row
    return conn
