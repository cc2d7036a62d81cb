"""Reading what is committed after a position: audit records and admin operations, in id
order.

Ids are handed out in commit order on both engines, which is what makes "after the last id"
complete: SQLite serialises its writers, and on PostgreSQL each audit batch takes a lock
for its transaction before its ids (addon/audit/pg.py) and each admin operation likewise
(addon/state/history.py), so a later commit never holds a smaller id.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from addon.audit.schema import COLUMNS

AUDIT = ("id", *COLUMNS)
ADMIN = ("id", "at", "operator", "action", "subject", "before", "after")
_AUDIT_AFTER = "SELECT {} FROM audit WHERE id > ? ORDER BY id LIMIT ?".format(  # noqa: S608
    ", ".join(AUDIT))
_ADMIN_AFTER = "SELECT {} FROM admin_log WHERE id > ? ORDER BY id LIMIT ?".format(  # noqa: S608
    ", ".join(ADMIN))


def _rows(conn: sqlite3.Connection, sql: str, names: tuple[str, ...], after: int,
          limit: int) -> list[dict[str, Any]]:
    return [dict(zip(names, row, strict=True)) for row in conn.execute(sql, (after, limit))]


def audit_after(conn: sqlite3.Connection, after: int, limit: int) -> list[dict[str, Any]]:
    rows = _rows(conn, _AUDIT_AFTER, AUDIT, after, limit)
    for r in rows:  # PostgreSQL hands JSONB back parsed; SQLite keeps the text
        if isinstance(r["categories"], list):
            r["categories"] = json.dumps(r["categories"])
    return rows


def admin_after(conn: sqlite3.Connection, after: int, limit: int) -> list[dict[str, Any]]:
    return _rows(conn, _ADMIN_AFTER, ADMIN, after, limit)


def last_id(conn: sqlite3.Connection, table: str) -> int:
    assert table in ("audit", "admin_log")
    row = conn.execute(f"SELECT max(id) FROM {table}").fetchone()  # noqa: S608 - one of two
    return int(row[0]) if row and row[0] is not None else 0
