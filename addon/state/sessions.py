"""Login sessions: which user is logged in at which machine address (Art. 9 §4 I)."""

from __future__ import annotations

import time

from addon.errors import StateError
from addon.policy.hosts import canonical_ip
from addon.state import history
from addon.store.seam import Connection, Row


def login(conn: Connection, user: str, ip: str, until: float | None,
          operator: str, source: str = "cli") -> None:
    ip = canonical_ip(ip)
    user = user.strip().lower()
    if not user:
        raise StateError("empty user name")
    now = time.time()
    if until is not None and until <= now:
        raise StateError("--until is in the past")
    with conn:
        old = conn.execute('SELECT "user", until FROM sessions WHERE ip = ?', (ip,)).fetchone()
        conn.execute(
            'INSERT INTO sessions (ip, "user", since, until, source) VALUES (?, ?, ?, ?, ?) '
            'ON CONFLICT(ip) DO UPDATE SET "user"=excluded."user", since=excluded.since, '
            "until=excluded.until, source=excluded.source",
            (ip, user, now, until, source),
        )
        history.record(conn, operator, "session.login", ip,
                       dict(old) if old else None, {"user": user, "until": until})


def logout(conn: Connection, ip: str, operator: str, source: str = "cli") -> bool:
    ip = canonical_ip(ip)
    with conn:
        old = conn.execute('SELECT "user", until FROM sessions WHERE ip = ?', (ip,)).fetchone()
        if old is None:
            return False
        conn.execute("DELETE FROM sessions WHERE ip = ?", (ip,))
        history.record(conn, operator, "session.logout", ip, dict(old), None)
    return True


def active(conn: Connection, now: float | None = None) -> dict[str, str]:
    """ip -> user for sessions that have not expired."""
    now = time.time() if now is None else now
    rows = conn.execute(
        'SELECT ip, "user" FROM sessions WHERE until IS NULL OR until > ?', (now,)
    ).fetchall()
    return {r["ip"]: r["user"] for r in rows}


def listing(conn: Connection) -> list[Row]:
    return conn.execute("SELECT * FROM sessions ORDER BY ip").fetchall()
