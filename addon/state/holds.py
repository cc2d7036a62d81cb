"""Legal holds (issue 26): a person's or a machine's audit records kept past the retention
while a case needs them.

Pruning, by hand (`guarita audit prune`) or by the retention (`audit.retention_days`),
keeps every record of a subject under an open hold: one whose end has not come and that
nobody released. Placing and releasing a hold are admin operations, in the history with
who did them; releasing names who authorised it, as lifting a block does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from addon.errors import StateError
from addon.policy.hosts import canonical_ip
from addon.state import history
from addon.store.seam import Connection, Row, insert_returning_id

Kind = Literal["user", "ip"]


@dataclass(frozen=True)
class Kept:
    """Whose records pruning must leave: logins and client addresses under an open hold."""

    users: frozenset[str] = frozenset()
    ips: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.users or self.ips)


NOBODY = Kept()


def _subject(kind: Kind, subject: str) -> str:
    value = canonical_ip(subject) if kind == "ip" else subject.strip().lower()
    if not value:
        raise StateError(f"a hold needs a {'--user' if kind == 'user' else '--ip'}")
    return value


def add(conn: Connection, case_ref: str, kind: Kind, subject: str,
        until: float | None, reason: str, operator: str, now: float | None = None) -> int:
    """Place a hold; its number."""
    now = time.time() if now is None else now
    subject = _subject(kind, subject)
    if not case_ref.strip():
        raise StateError("a hold needs --case REF (the case it serves)")
    if not reason.strip():
        raise StateError("a hold needs a --reason")
    if until is not None and until <= now:
        raise StateError("a hold's --until must be in the future")
    with conn:
        hid = insert_returning_id(
            conn, "INSERT INTO audit_holds (case_ref, kind, subject, until, reason, operator, "
            "created) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (case_ref.strip(), kind, subject, until, reason.strip(), operator, now))
        history.record(conn, operator, "audit.hold", f"hold #{hid}", None,
                       {"case": case_ref.strip(), kind: subject, "until": until,
                        "reason": reason.strip()})
    return hid


def release(conn: Connection, hid: int, authorized_by: str, operator: str,
            now: float | None = None) -> None:
    now = time.time() if now is None else now
    if not authorized_by.strip():
        raise StateError("releasing a hold needs --authorized-by NAME")
    with conn:
        row = conn.execute("SELECT * FROM audit_holds WHERE id = ?", (hid,)).fetchone()
        if row is None:
            raise StateError(f"no hold #{hid}")
        if row["released"] is not None:
            raise StateError(f"hold #{hid} was already released")
        conn.execute("UPDATE audit_holds SET released = ?, released_by = ? WHERE id = ?",
                     (now, authorized_by.strip(), hid))
        history.record(conn, operator, "audit.hold.release", f"hold #{hid}",
                       {"case": row["case_ref"], row["kind"]: row["subject"]},
                       {"authorized_by": authorized_by.strip()})


def listing(conn: Connection, include_released: bool = False) -> list[Row]:
    sql = "SELECT * FROM audit_holds" + ("" if include_released else " WHERE released IS NULL")  # noqa: S608
    return conn.execute(sql + " ORDER BY id").fetchall()


def kept(conn: Connection, now: float | None = None) -> Kept:
    """The subjects of every open hold (not released, its end not come)."""
    now = time.time() if now is None else now
    rows = conn.execute("SELECT kind, subject FROM audit_holds WHERE released IS NULL AND "
                        "(until IS NULL OR until > ?)", (now,)).fetchall()
    return Kept(frozenset(r[1] for r in rows if r[0] == "user"),
                frozenset(r[1] for r in rows if r[0] == "ip"))
