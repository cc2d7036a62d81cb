"""The history of administrative operations (Art. 11 §4–6): who, what, when, before, after.

Append-only: triggers in the schema refuse UPDATE and DELETE, so not even a
bug in the CLI can rewrite it.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import time
from typing import Any
from zoneinfo import ZoneInfo

from addon.store import dialect
from addon.store.seam import Connection, Row


def default_operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def record(conn: Connection, operator: str, action: str, subject: str,
           before: Any = None, after: Any = None) -> None:
    """Add one entry; call inside the same transaction as the change it records."""
    if dialect(conn) == "postgresql":  # ids in commit order, for forwarding (as the audit's)
        conn.execute("SELECT pg_advisory_xact_lock(4245)")
    conn.execute(
        "INSERT INTO admin_log (at, operator, action, subject, before, after) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (time.time(), operator, action, subject,
         None if before is None else json.dumps(before, ensure_ascii=False, default=str),
         None if after is None else json.dumps(after, ensure_ascii=False, default=str)),
    )


# fields of the recorded before/after that hold POSIX seconds
TIME_FIELDS = frozenset({"at", "start", "end", "created", "updated", "until", "since",
                         "lifted"})


def local_time(ts: float, tz: ZoneInfo) -> str:
    return dt.datetime.fromtimestamp(ts, tz).isoformat(timespec="seconds")


def readable(row: Row | dict[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    """An entry as auditors read it: every time in ISO 8601 in the institution's zone."""
    out = dict(row)
    out["at"] = local_time(out["at"], tz)
    for side in ("before", "after"):
        raw = out.get(side)
        if not raw:
            continue
        try:
            value = json.loads(raw)
        except ValueError:
            continue
        if isinstance(value, dict):
            for k, v in value.items():
                if k in TIME_FIELDS and isinstance(v, int | float) and not isinstance(v, bool):
                    value[k] = local_time(v, tz)
            out[side] = json.dumps(value, ensure_ascii=False)
    return out


def entries(conn: Connection, since: float | None = None, until: float | None = None,
            operator: str | None = None, action: str | None = None,
            limit: int = 1000) -> list[Row]:
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
