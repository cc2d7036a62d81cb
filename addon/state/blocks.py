"""Account and machine blocks (Art. 9 §4 I, Art. 11 §7, Art. 19): level 0 at once, with a reason.

Lifting one records who authorised it (the Subprocuradoria, Art. 9 §4 I).
"""

from __future__ import annotations

import time
from typing import Literal

from addon.errors import StateError
from addon.policy.hosts import canonical_ip
from addon.state import history
from addon.store.seam import Connection, Row, insert_returning_id

Kind = Literal["user", "machine"]
_WHAT = {"user": "A conta", "machine": "A máquina"}


def _subject(kind: Kind, subject: str) -> str:
    subject = canonical_ip(subject) if kind == "machine" else subject.strip().lower()
    if not subject:
        raise StateError(f"empty {kind}")
    return subject


def block(conn: Connection, kind: Kind, subject: str, reason: str, operator: str) -> int:
    subject = _subject(kind, subject)
    if not reason.strip():
        raise StateError("a block needs a --reason", "Escreva o motivo do bloqueio.")
    with conn:
        existing = conn.execute(
            "SELECT id FROM blocks WHERE kind=? AND subject=? AND lifted IS NULL", (kind, subject)
        ).fetchone()
        if existing:
            raise StateError(f"{kind} {subject} is already blocked (block #{existing['id']})",
                             f"{_WHAT[kind]} {subject} já está bloqueada (bloqueio nº "
                             f"{existing['id']}).")
        bid = insert_returning_id(
            conn, "INSERT INTO blocks (kind, subject, reason, operator, created) "
            "VALUES (?, ?, ?, ?, ?)", (kind, subject, reason, operator, time.time()))
        history.record(conn, operator, f"block.{kind}", subject, None, {"reason": reason})
        return bid


def unblock(conn: Connection, kind: Kind, subject: str, authorized_by: str,
            operator: str) -> None:
    subject = _subject(kind, subject)
    if not authorized_by.strip():
        raise StateError("unblocking needs --authorized-by (Art. 9 §4 I)",
                         "Informe quem autorizou o desbloqueio (Art. 9 §4 I).")
    with conn:
        row = conn.execute(
            "SELECT * FROM blocks WHERE kind=? AND subject=? AND lifted IS NULL", (kind, subject)
        ).fetchone()
        if row is None:
            raise StateError(f"{kind} {subject} is not blocked",
                             f"{_WHAT[kind]} {subject} não está bloqueada.")
        conn.execute(
            "UPDATE blocks SET lifted=?, lifted_by=?, authorized_by=? WHERE id=?",
            (time.time(), operator, authorized_by, row["id"]),
        )
        history.record(conn, operator, f"unblock.{kind}", subject,
                       {"reason": row["reason"]}, {"authorized_by": authorized_by})


def active(conn: Connection) -> dict[tuple[str, str], str]:
    """(kind, subject) -> reason for every block not lifted."""
    rows = conn.execute("SELECT kind, subject, reason FROM blocks WHERE lifted IS NULL")
    return {(r["kind"], r["subject"]): r["reason"] for r in rows}


def listing(conn: Connection, include_lifted: bool = False) -> list[Row]:
    sql = "SELECT * FROM blocks" + ("" if include_lifted else " WHERE lifted IS NULL")  # noqa: S608
    return conn.execute(sql + " ORDER BY id").fetchall()


def of_subject(conn: Connection, kind: Kind, subject: str) -> list[Row]:
    """Every block of one user or machine, lifted ones too, newest first ("Meus dados")."""
    return conn.execute("SELECT * FROM blocks WHERE kind = ? AND subject = ? ORDER BY id DESC",
                        (kind, _subject(kind, subject))).fetchall()
