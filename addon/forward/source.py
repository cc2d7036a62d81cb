"""Reading what is committed after a position: audit records and admin operations, in id
order.

Ids are handed out in commit order on both engines, which is what makes "after the last id"
complete: SQLite serialises its writers, and on PostgreSQL each audit batch takes a lock
for its transaction before its ids (addon/audit/pg.py) and each admin operation likewise
(addon/state/history.py), so a later commit never holds a smaller id.
"""

from __future__ import annotations

import json
from typing import Any

from addon.audit.schema import COLUMNS
from addon.state import positions
from addon.store.seam import Connection, quoted

AUDIT = ("id", *COLUMNS)
ADMIN = ("id", "at", "operator", "action", "subject", "before", "after")
_AUDIT_AFTER = "SELECT {} FROM audit WHERE id > ? ORDER BY id LIMIT ?".format(  # noqa: S608
    ", ".join(map(quoted, AUDIT)))
_ADMIN_AFTER = "SELECT {} FROM admin_log WHERE id > ? ORDER BY id LIMIT ?".format(  # noqa: S608
    ", ".join(map(quoted, ADMIN)))


def _rows(conn: Connection, sql: str, names: tuple[str, ...], after: int,
          limit: int) -> list[dict[str, Any]]:
    return [dict(zip(names, row, strict=True)) for row in conn.execute(sql, (after, limit))]


def audit_after(conn: Connection, after: int, limit: int) -> list[dict[str, Any]]:
    rows = _rows(conn, _AUDIT_AFTER, AUDIT, after, limit)
    for r in rows:  # PostgreSQL hands JSONB back parsed; SQLite keeps the text
        if isinstance(r["categories"], list):
            r["categories"] = json.dumps(r["categories"])
    return rows


def admin_after(conn: Connection, after: int, limit: int) -> list[dict[str, Any]]:
    return _rows(conn, _ADMIN_AFTER, ADMIN, after, limit)


def last_id(conn: Connection, table: str) -> int:
    assert table in ("audit", "admin_log")
    row = conn.execute(f"SELECT max(id) FROM {table}").fetchone()  # noqa: S608 - one of two
    return int(row[0]) if row and row[0] is not None else 0


def standing(audit: Connection | None, state: Connection,
             names: list[str]) -> list[dict[str, Any]]:
    """Each target's position and how far behind the logs it is (`guarita audit forward`)."""
    saved = positions.every(state)
    last_audit = last_id(audit, "audit") if audit is not None else 0
    last_admin = last_id(state, "admin_log")
    out: list[dict[str, Any]] = []
    for name in names:
        audit_id, admin_id, at = saved.get(name, (None, None, None))
        if audit_id is None or admin_id is None:
            out.append({"target": name, "audit_id": None, "admin_id": None, "saved": None,
                        "behind_audit": None, "behind_admin": None,
                        "status": "not started (the proxy's first round starts it)"})
            continue
        behind = max(0, last_audit - audit_id), max(0, last_admin - admin_id)
        out.append({"target": name, "audit_id": audit_id, "admin_id": admin_id, "saved": at,
                    "behind_audit": behind[0], "behind_admin": behind[1],
                    "status": "up to date" if not any(behind) else f"{sum(behind)} waiting"})
    return out
