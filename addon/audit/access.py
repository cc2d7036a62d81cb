"""Who read whose audit records (Decreto 8.771/2016 art. 13; LGPD Art. 37): every query,
report, violations list and export, from every door, with the reader, the filter and the
purpose given, in an append-only table of the state database whose rows are chained like
the audit's seals (each row's digest covers the one before), so a removed or changed read
shows in `guarita audit verify`.

Writing a read takes the state database's write lock for the moment of one row: reads of
the log are a person's questions, a few a minute, never the request path.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from addon.errors import GuaritaError
from addon.store import dialect
from addon.store.seam import quoted

GENESIS = "0" * 64
COLUMNS = ("at", "reader", "door", "action", "subject_user", "subject_ip", "filters",
           "purpose", "case_ref")
NAMES = ", ".join(map(quoted, COLUMNS))
DOORS = frozenset({"cli", "console", "api"})


@dataclass(frozen=True)
class Read:
    """One read of the log, as its door describes it."""

    reader: str
    door: str
    action: str  # query, report, violations, export, records (a page's own lookup)
    filters: dict[str, Any]
    subject_user: str | None = None
    subject_ip: str | None = None
    purpose: str | None = None
    case_ref: str | None = None


def _digest(prev: str, row: tuple[object, ...]) -> str:
    body = json.dumps(list(row), ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(bytes.fromhex(prev) + body.encode()).hexdigest()


def require_case(read: Read, required: bool) -> None:
    """`audit.require_case_for_person`: a question about a named person or machine needs a
    case reference (GuaritaError, with words for a page)."""
    if required and (read.subject_user or read.subject_ip) and not (read.case_ref or "").strip():
        raise GuaritaError(
            "a question about a named person or machine needs a case reference "
            "(audit.require_case_for_person; --case)",
            for_user="Informe o número do processo: a política exige um para consultar os "
                     "registros de uma pessoa ou máquina.")


def record(conn: Any, read: Read, now: float | None = None) -> None:
    """Append one read, chained to the last (its own transaction)."""
    if read.door not in DOORS:
        raise ValueError(f"unknown door {read.door!r}")
    row: tuple[object, ...] = (
        time.time() if now is None else now, read.reader, read.door, read.action,
        read.subject_user, read.subject_ip,
        json.dumps(read.filters, ensure_ascii=False, sort_keys=True, default=str),
        read.purpose, read.case_ref)
    pg = dialect(conn) == "postgresql"
    if pg:
        with conn:
            conn.execute("SELECT pg_advisory_xact_lock(4246)")  # one head, whoever writes
            _append(conn, row)
        return
    conn.commit()  # whatever the caller left open; the lock below is ours alone
    conn.execute("BEGIN IMMEDIATE")
    try:
        _append(conn, row)
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def _append(conn: Any, row: tuple[object, ...]) -> None:
    last = conn.execute("SELECT digest FROM audit_access ORDER BY id DESC LIMIT 1").fetchone()
    prev = str(last[0]) if last else GENESIS
    conn.execute(f"INSERT INTO audit_access ({NAMES}, digest) "  # noqa: S608
                 f"VALUES ({', '.join('?' for _ in COLUMNS)}, ?)", (*row, _digest(prev, row)))


def entries(conn: Any, user: str | None = None, reader: str | None = None,
            since: float | None = None, limit: int = 1000) -> Iterator[dict[str, Any]]:
    """Reads, newest first; `user`: those that named this person (or were about everyone)."""
    clauses: list[str] = []
    args: list[object] = []
    if user is not None:
        clauses.append("(subject_user = ? OR (subject_user IS NULL AND subject_ip IS NULL))")
        args.append(user.lower())
    if reader is not None:
        clauses.append("reader = ?")
        args.append(reader.lower())
    if since is not None:
        clauses.append("at >= ?")
        args.append(since)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    sql = (f"SELECT id, {NAMES} FROM audit_access{where} "  # noqa: S608
           "ORDER BY id DESC LIMIT ?")
    for r in conn.execute(sql, (*args, limit)):
        yield {"id": r[0], **dict(zip(COLUMNS, r[1:], strict=True))}


def verify_chain(conn: Any) -> list[str]:
    """The access log's own chain: the first row removed, changed or inserted, if any."""
    prev = GENESIS
    expected: int | None = None
    for r in conn.execute(f"SELECT id, {NAMES}, digest FROM audit_access "  # noqa: S608
                          "ORDER BY id"):
        row = tuple(r[1:-1])
        if _digest(prev, row) != r[-1]:
            gap = expected is not None and int(r[0]) != expected
            what = "a read before it was deleted" if gap else "changed or inserted"
            return [f"access log entry {r[0]}: {what} (its digest does not follow)"]
        prev, expected = str(r[-1]), int(r[0]) + 1
    return []
