"""Console sign-ins, kept on the server (in the state database, so every node and worker
shares them): a cookie only names one, so signing out, a timeout, IT taking a role away or
the person's password changing ends it everywhere at once, and a stolen cookie dies with it.
The last two are seen at the next check of the directory (`CHECK_SECONDS`): each session
keeps the directory's *password stamp* from its sign-in (`Directory.password_stamp`).

The cookie holds a random token; the table holds only its SHA-256, so a copy of the
database opens no session.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass

from addon.store.seam import Connection

IDLE_SECONDS = 30 * 60  # a console left alone signs out
ABSOLUTE_SECONDS = 8 * 3600  # a working day, then the password again
CHECK_SECONDS = 5 * 60  # how often the person's roles are asked of the directory again
TOUCH_SECONDS = 60  # `seen` is written at most this often (one write per minute, not per page)


@dataclass(frozen=True)
class Session:
    token_hash: str
    login: str
    roles: frozenset[str]
    csrf: str
    checked: float
    stamp: str | None = None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def start(conn: Connection, login: str, roles: frozenset[str],
          now: float | None = None, stamp: str | None = None) -> str:
    """A new session for `login`; returns the token for the cookie."""
    now = time.time() if now is None else now
    token = secrets.token_urlsafe(32)
    with conn:
        conn.execute("INSERT INTO console_sessions (id, login, roles, csrf, created, seen, "
                     "checked, stamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (_hash(token), login, json.dumps(sorted(roles)), secrets.token_urlsafe(32),
                      now, now, now, stamp))
    return token


def current(conn: Connection, token: str | None, now: float | None = None
            ) -> Session | None:
    """The live session a cookie names, or None (unknown, ended, idle or too old)."""
    if not token or not isinstance(token, str):
        return None
    now = time.time() if now is None else now
    row = conn.execute("SELECT id, login, roles, csrf, created, seen, checked, stamp FROM "
                       "console_sessions WHERE id = ? AND ended IS NULL",
                       (_hash(token),)).fetchone()
    if row is None:
        return None
    if now - row["seen"] > IDLE_SECONDS or now - row["created"] > ABSOLUTE_SECONDS:
        end(conn, token, "timeout", now)
        return None
    if now - row["seen"] > TOUCH_SECONDS:
        with conn:
            conn.execute("UPDATE console_sessions SET seen = ? WHERE id = ?", (now, row["id"]))
    return Session(row["id"], row["login"], frozenset(json.loads(row["roles"])), row["csrf"],
                   row["checked"], row["stamp"])


def rechecked(conn: Connection, s: Session, roles: frozenset[str],
              now: float | None = None, stamp: str | None = None) -> bool:
    """After asking the directory again: True when the session goes on; a person whose
    roles changed signs in again (with the roles they now have), and so does one whose
    password stamp changed (a stamp not known then or now tells nothing)."""
    now = time.time() if now is None else now
    why = ("roles" if roles != s.roles else
           "password" if s.stamp is not None and stamp is not None and stamp != s.stamp else None)
    with conn:
        if why is not None:
            conn.execute("UPDATE console_sessions SET ended = ?, why = ? WHERE id = ?",
                         (now, why, s.token_hash))
            return False
        conn.execute("UPDATE console_sessions SET checked = ? WHERE id = ?", (now, s.token_hash))
    return True


def end(conn: Connection, token: str | None, why: str = "signed_out",
        now: float | None = None) -> None:
    if not token:
        return
    now = time.time() if now is None else now
    with conn:
        conn.execute("UPDATE console_sessions SET ended = ?, why = ? WHERE id = ? AND ended "
                     "IS NULL", (now, why, _hash(token)))


def end_all(conn: Connection, login: str, why: str, now: float | None = None) -> int:
    """Every live session of `login` (a password changed, an account blocked)."""
    now = time.time() if now is None else now
    with conn:
        return conn.execute("UPDATE console_sessions SET ended = ?, why = ? WHERE login = ? "
                            "AND ended IS NULL", (now, why, login)).rowcount


def prune(conn: Connection, now: float | None = None) -> int:
    """Forget sessions that ended (or could only have) more than a day ago."""
    now = time.time() if now is None else now
    with conn:
        return conn.execute("DELETE FROM console_sessions WHERE created < ?",
                            (now - ABSOLUTE_SECONDS - 86400,)).rowcount
