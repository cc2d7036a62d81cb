"""The outbox: every notification is a row in the state database before anyone is told.

Writing first and sending later is what makes a mail server that is down lose nothing:
the sender retries with a growing pause, and a message is marked sent only after the
server took it. Each row has a unique key (`release.denied:42`, `digest:2026-11-23:ana`),
so the same event never queues twice, however often the code that noticed it runs.
Recipients are stored as roles (a login, the committee) and resolved to addresses when
sending: a user's new address in the directory is used, and queuing never waits on LDAP.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from addon.store.seam import Connection, Row

ToKind = Literal["user", "committee", "address"]

def enqueue(conn: Connection, key: str, kind: str, to_kind: ToKind, to_value: str,
            subject: str, body: str, now: float | None = None) -> bool:
    """Queue a message (inside the caller's transaction); False when its key was queued before."""
    now = time.time() if now is None else now
    cur = conn.execute(
        "INSERT INTO outbox (key, kind, to_kind, to_value, subject, body, created, "
        "next_try) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
        (key, kind, to_kind, to_value, subject, body, now, now))
    return cur.rowcount == 1


def due(conn: Connection, now: float, limit: int = 100) -> list[Row]:
    return conn.execute(
        "SELECT * FROM outbox WHERE status = 'pending' AND next_try <= ? ORDER BY id LIMIT ?",
        (now, limit)).fetchall()


def mark_sent(conn: Connection, rid: int, address: str, now: float) -> None:
    with conn:
        conn.execute("UPDATE outbox SET status = 'sent', address = ?, sent = ?, error = NULL, "
                     "tries = tries + 1 WHERE id = ?", (address, now, rid))


def mark_retry(conn: Connection, row: Row, error: str, now: float,
               max_tries: int) -> None:
    """Try again later (30 s, doubling, at most an hour apart); `failed` after max_tries."""
    tries = row["tries"] + 1
    status = "failed" if tries >= max_tries else "pending"
    with conn:
        conn.execute("UPDATE outbox SET tries = ?, status = ?, next_try = ?, error = ? WHERE id = ?",
                     (tries, status, now + min(3600.0, 30.0 * 2 ** (tries - 1)), error[:500],
                      row["id"]))


def postpone(conn: Connection, rid: int, until: float, why: str) -> None:
    """Not an error: the recipient had enough mail this hour (rate limit)."""
    with conn:
        conn.execute("UPDATE outbox SET next_try = ?, error = ? WHERE id = ?", (until, why, rid))


def sent_since(conn: Connection, address: str, since: float) -> list[float]:
    return [r[0] for r in conn.execute(
        "SELECT sent FROM outbox WHERE status = 'sent' AND address = ? AND sent >= ? "
        "ORDER BY sent", (address, since))]


def listing(conn: Connection, status: str | None = None,
            limit: int = 100) -> list[dict[str, Any]]:
    where, args = ("WHERE status = ?", [status]) if status else ("", [])
    rows = conn.execute(
        "SELECT id, created, status, tries, kind, to_kind, to_value, address, subject, "  # noqa: S608
        f"next_try, sent, error FROM outbox {where} ORDER BY id DESC LIMIT ?", (*args, limit))
    return [dict(r) for r in rows]


def counts(conn: Connection) -> dict[str, int]:
    out = {"pending": 0, "sent": 0, "failed": 0}
    for status, n in conn.execute("SELECT status, count(*) FROM outbox GROUP BY status"):
        out[status] = n
    return out
