"""How far each SIEM target has received the audit log and the admin history (issue 29).

One row per target: the id of the last audit record and of the last admin operation the
receiver is taken to have. Forwarding saves it every few seconds and when it stops, so a
restart resends at most those seconds (the receiver drops them by id), and never skips.
"""

from __future__ import annotations

import time

from addon.store.seam import Connection


def read(conn: Connection, target: str) -> tuple[int, int] | None:
    row = conn.execute("SELECT audit_id, admin_id FROM forward_positions WHERE target = ?",
                       (target,)).fetchone()
    return None if row is None else (int(row[0]), int(row[1]))


def save(conn: Connection, target: str, audit_id: int, admin_id: int,
         now: float | None = None) -> None:
    with conn:
        conn.execute(
            "INSERT INTO forward_positions (target, audit_id, admin_id, updated) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (target) DO UPDATE SET "
            "audit_id = excluded.audit_id, admin_id = excluded.admin_id, "
            "updated = excluded.updated",
            (target, audit_id, admin_id, time.time() if now is None else now))


def every(conn: Connection) -> dict[str, tuple[int, int, float]]:
    """Each target's position and when it was saved (`guarita audit forward status`)."""
    return {str(r[0]): (int(r[1]), int(r[2]), float(r[3])) for r in conn.execute(
        "SELECT target, audit_id, admin_id, updated FROM forward_positions ORDER BY target")}
