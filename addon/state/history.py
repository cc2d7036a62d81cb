"""The history of administrative operations (Art. 11 §4–6): who, what, when, before, after.

Append-only: triggers in the schema refuse UPDATE and DELETE, so not even a
bug in the CLI can rewrite it.
"""

from __future__ import annotations

import getpass
import json
import sqlite3
import time
from typing import Any


def default_operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def record(conn: sqlite3.Connection, operator: str, action: str, subject: str,
           before: Any = None, after: Any = None) -> None:
    """Add one entry; call inside the same transaction as the change it records."""
    conn.execute(
        "INSERT INTO admin_log (at, operator, action, subject, before, after) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (time.time(), operator, action, subject,
         None if before is None else json.dumps(before, ensure_ascii=False, default=str),
         None if after is None else json.dumps(after, ensure_ascii=False, default=str)),
    )


def entries(conn: sqlite3.Connection, since: float | None = None, until: float | None = None,
            operator: str | None = None, action: str | None = None,
            limit: int = 1000) -> list[sqlite3.Row]:
    where, args = [], []
    for clause, value in (("at >= ?", since), ("at < ?", until),
                          ("operator = ?", operator), ("action LIKE ?", action and action + "%")):
        if value is not None:
            where.append(clause)
            args.append(value)
    sql = "SELECT * FROM admin_log"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY id DESC LIMIT ?"
    return conn.execute(sql, (*args, limit)).fetchall()
