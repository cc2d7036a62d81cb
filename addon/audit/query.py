"""The auditors' questions, as parameterised SQL over the audit table."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from addon.audit.held import held_clause
from addon.errors import GuaritaError
from addon.policy.paths import Paths
from addon.state.holds import NOBODY, Kept
from addon.store import dialect, files
from addon.store.seam import Connection, StoreError, quoted
from addon.store.url import redact


@dataclass(frozen=True)
class Filters:
    user: str | None = None
    ip: str | None = None
    host: str | None = None
    category: str | None = None
    decision: str | None = None
    since: float | None = None
    until: float | None = None
    rules: tuple[str, ...] = ()
    ref: str | None = None  # the reference printed on a block page
    users: tuple[str, ...] | None = None  # only these users (a chief's staff); () = nobody

    def where(self, dialect: str = "sqlite") -> tuple[str, list[Any]]:
        pg = dialect == "postgresql"
        clauses: list[str] = []
        args: list[Any] = []
        if self.ref is not None:
            clauses.append("ref = ?")
            args.append(self.ref.strip())
        if self.user is not None:
            clauses.append('"user" = ?')
            args.append(self.user.lower())
        if self.users is not None:
            clauses.append('"user" IN ({})'.format(",".join("?" for _ in self.users)) if self.users
                           else "1 = 0")
            args.extend(u.lower() for u in self.users)
        if self.ip is not None:
            clauses.append("client_ip = ?")
            args.append(self.ip)
        if self.host is not None:
            h = self.host.lower()
            if h.startswith(("*.", ".")):
                base = h.lstrip("*.")
                clauses.append("(host = ? OR host LIKE ? ESCAPE '\\')")
                escaped = base.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                args.extend([base, "%." + escaped])
            else:
                clauses.append("host = ?")
                args.append(h)
        if self.category is not None:
            each = CATEGORIES_PG if pg else CATEGORIES
            clauses.append(f"EXISTS (SELECT 1 FROM {each} WHERE value = ?)")  # noqa: S608
            args.append(self.category)
        if self.decision is not None:
            # two values only: with a user, address or host given, their index is the
            # selective one, so keep the planner off the decision index (unary +)
            narrow = self.user is not None or self.ip is not None or self.host is not None
            clauses.append("+decision = ?" if narrow and not pg else "decision = ?")
            args.append(self.decision)
        if self.since is not None:
            clauses.append("ts >= ?")
            args.append(self.since)
        if self.until is not None:
            clauses.append("ts < ?")
            args.append(self.until)
        if self.rules:
            clauses.append("rule IN ({})".format(",".join("?" for _ in self.rules)))
            args.extend(self.rules)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


# a record's categories (a JSON array), one row each, in either engine
CATEGORIES = "json_each(audit.categories)"
CATEGORIES_PG = "jsonb_array_elements_text(audit.categories::jsonb) AS j0(value)"


def open_readonly(where: Paths | Path) -> Connection | None:
    """The audit log for reading (PostgreSQL in read-only transactions); None when the
    SQLite file does not exist yet."""
    if isinstance(where, Paths) and where.database:
        from addon.store import pg

        try:  # never migrates: an auditor's account needs no write right
            shared = pg.connect(where.database)
            shared.execute("SET default_transaction_read_only = on")
        except StoreError as exc:
            raise GuaritaError(f"{redact(where.database)}: cannot read the audit log: {exc}") \
                from exc
        return shared
    path = where.audit_file if isinstance(where, Paths) else where
    if not path.exists():
        return None
    return files.open_file(path, readonly=True, shared=False)


def connect_readonly(where: Paths | Path) -> Connection:
    conn = open_readonly(where)
    if conn is None:
        path = where.audit_file if isinstance(where, Paths) else where
        raise GuaritaError(f"{path}: no audit log yet (start the proxy first)")
    return conn


def records(conn: Connection, f: Filters, limit: int = 100) -> Iterator[dict[str, Any]]:
    where, args = f.where(dialect(conn))
    sql = f"SELECT * FROM audit{where} ORDER BY ts DESC, id DESC LIMIT ?"  # noqa: S608
    for row in conn.execute(sql, (*args, limit)):
        yield dict(row)


GROUPS = {"user": '"user"', "host": "host", "level": "level", "category": "j.value",
          "ip": "client_ip", "rule": "rule"}


def report(conn: Connection, f: Filters, by: str, top: int = 20) -> list[dict[str, Any]]:
    """Counts, bytes and blocked attempts grouped by one dimension, top N by requests."""
    if by not in GROUPS:
        raise GuaritaError(f"cannot report by {by!r} (choose {', '.join(GROUPS)})")
    d = dialect(conn)
    where, args = f.where(d)
    if by == "category":
        return _report_by_category(conn, d, where, args, top)
    sql = (
        f"SELECT {GROUPS[by]} AS {quoted(by)}, count(*) AS requests, "  # noqa: S608
        "count(*) FILTER (WHERE decision = 'block') AS blocked, "
        "CAST(coalesce(sum(bytes_in), 0) + coalesce(sum(bytes_out), 0) AS BIGINT) AS bytes, "
        'count(DISTINCT "user") AS users '
        f"FROM audit{where} GROUP BY 1 ORDER BY requests DESC, 1 LIMIT ?"
    )
    return [dict(r) for r in conn.execute(sql, (*args, top))]


def _report_by_category(conn: Connection, d: str, where: str, args: list[Any],
                        top: int) -> list[dict[str, Any]]:
    """Counted per (category list, user) first, then spread over the categories: a day of
    traffic has a few thousand such pairs, so the JSON is read a few thousand times rather
    than once per record (1 s -> tens of ms on a 10-million-row log)."""
    each = ("jsonb_array_elements_text(s.categories) AS j(value)" if d == "postgresql"
            else "json_each(s.categories) AS j")
    sql = (
        "SELECT j.value AS category, CAST(sum(s.n) AS BIGINT) AS requests, "  # noqa: S608
        "CAST(sum(s.b) AS BIGINT) AS blocked, CAST(sum(s.bytes) AS BIGINT) AS bytes, "
        'count(DISTINCT s."user") AS users FROM ('
        'SELECT categories, "user", count(*) AS n, '
        "count(*) FILTER (WHERE decision = 'block') AS b, "
        "coalesce(sum(bytes_in), 0) + coalesce(sum(bytes_out), 0) AS bytes "
        f'FROM audit{where} GROUP BY categories, "user") AS s CROSS JOIN {each} '
        "GROUP BY 1 ORDER BY requests DESC, 1 LIMIT ?"
    )
    return [dict(r) for r in conn.execute(sql, (*args, top))]


def per_day(conn: Connection, f: Filters, tz: Any, days: int = 31) -> list[dict[str, Any]]:
    """Requests and blocks per local day, the last `days` days that have any."""
    d = dialect(conn)
    where, args = f.where(d)
    offset = tz.utcoffset(dt.datetime.now(tz)).total_seconds() if tz is not None else 0
    day = ("to_char(to_timestamp(ts + ?) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
           if d == "postgresql" else "date(ts + ?, 'unixepoch')")
    sql = (
        f"SELECT {day} AS day, count(*) AS requests, "  # noqa: S608
        "count(*) FILTER (WHERE decision = 'block') AS blocked "
        f"FROM audit{where} GROUP BY 1 ORDER BY 1 DESC LIMIT ?"
    )
    rows = [dict(r) for r in conn.execute(sql, (offset, *args, days))]
    return list(reversed(rows))


def prune(where: Paths | Path, before: float, chunk: int = 50_000,
          on_progress: Callable[[int], None] | None = None, kept: Kept = NOBODY) -> int:
    """Delete records older than `before` in short transactions; returns how many. The
    records of a subject under a legal hold (`kept`, addon/state/holds.py) stay.

    One DELETE of millions of rows would hold the write lock for minutes while
    the proxy's audit writer waits and its queue fills; chunks let it write in between.
    In PostgreSQL whole months are dropped (`addon/audit/pg.py`).
    """
    if isinstance(where, Paths) and where.database:
        from addon.audit import pg as pg_audit

        return pg_audit.prune(where.database, before, on_progress, kept)
    path = where.audit_file if isinstance(where, Paths) else where
    conn = files.open_file(path, timeout=30, rows=False, shared=False)
    total = 0
    clause, args = held_clause(kept)
    try:
        while True:
            with conn:
                n = conn.execute(
                    "DELETE FROM audit WHERE id IN "  # noqa: S608 - fixed clause, ? marks
                    f"(SELECT id FROM audit WHERE ts < ?{clause} ORDER BY ts LIMIT ?)",
                    (before, *args, chunk),
                ).rowcount
            total += n
            if on_progress is not None and n:
                on_progress(n)
            if n < chunk:
                return total
    finally:
        conn.close()


def count_before(conn: Connection, before: float) -> int:
    return int(conn.execute("SELECT count(*) FROM audit WHERE ts < ?", (before,)).fetchone()[0])
