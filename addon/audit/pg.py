"""The audit log in PostgreSQL: one table partitioned by month, written with COPY.

Many nodes write into one log. Each month is a partition (`audit_2026_11`, by UTC
month), made by the first writer that needs it, under an advisory lock so two nodes
never race to create it; a record with no usable time lands in `audit_other` rather
than being refused. The indexes are the SQLite log's, declared once on the parent:
PostgreSQL builds them on every partition. Old months leave by DROP TABLE, which
takes milliseconds whatever their size (`guarita audit prune`), instead of a DELETE
that would rewrite the table.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from addon.audit.held import held_clause
from addon.audit.schema import COLUMN_TYPES, COLUMNS
from addon.audit.seal import Seal
from addon.audit.sealer import Sealer
from addon.errors import StateError
from addon.policy.text import safe_text
from addon.state.holds import NOBODY, Kept
from addon.store import pg, ready
from addon.store.seam import DataError, OperationalError, StoreError, quoted

log = logging.getLogger("guarita.audit")

_TYPES: dict[str, type] = dict(COLUMN_TYPES)


COPY = "COPY audit ({}) FROM STDIN".format(", ".join(map(quoted, COLUMNS)))


def month_of(ts: float) -> tuple[int, int]:
    d = dt.datetime.fromtimestamp(ts, dt.UTC)
    return d.year, d.month


def month_bounds(year: int, month: int) -> tuple[float, float]:
    start = calendar.timegm((year, month, 1, 0, 0, 0))
    nxt = calendar.timegm((year + month // 12, month % 12 + 1, 1, 0, 0, 0))
    return float(start), float(nxt)


def partition_name(year: int, month: int) -> str:
    return f"audit_{year:04d}_{month:02d}"


def open_audit(url: str) -> pg.PgConnection:
    """The writer's connection, to a log at this guarita's revision."""
    conn = pg.connect(url)
    try:
        ready.check_pg(conn, url, "audit")
    except StateError:
        conn.close()
        raise
    return conn


def months_of(batch: Sequence[Sequence[Any]]) -> set[tuple[int, int]]:
    """The UTC months of a batch's records (their first field is the time)."""
    out = set()
    for rec in batch:
        ts = rec[0] if rec else None
        if isinstance(ts, float | int) and not isinstance(ts, bool) and math.isfinite(ts) \
                and 0 < ts < 253402300800:
            out.add(month_of(float(ts)))
    return out


def ensure_partitions(conn: pg.PgConnection, months: set[tuple[int, int]],
                      known: set[tuple[int, int]]) -> None:
    """Create the month partitions a batch needs (inside the caller's transaction)."""
    missing = months - known
    if not missing:
        return
    conn.execute("SELECT pg_advisory_xact_lock(4243)")
    existing = {r[0] for r in conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'audit'")}
    for year, month in sorted(missing):
        name = partition_name(year, month)
        if name not in existing:
            lo, hi = month_bounds(year, month)
            # out-of-month rows already in the default partition would block the new one
            conn.execute(f"CREATE TABLE {name} PARTITION OF audit "  # noqa: S608 - digits only
                         f"FOR VALUES FROM ({lo!r}) TO ({hi!r})")
        known.add((year, month))


def _fit(column: str, value: object) -> object:
    """A value the column's type takes. PostgreSQL's columns are typed (SQLite's are not):
    a number of the wrong kind or out of range becomes NULL, anything else safe text."""
    kind = _TYPES[column]
    if value is None:
        return None
    if kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63
        return value if ok else None
    if kind is float:
        try:
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            return None
    text = safe_text(value if isinstance(value, str) else repr(value))
    if column == "categories":  # must be a JSON array: anything else becomes one
        try:
            ok = isinstance(json.loads(text or ""), list)
        except ValueError:
            ok = False
        return text if ok else json.dumps([text])
    return text


def fitted(rec: object) -> tuple[object, ...]:
    fields = list(rec) if isinstance(rec, tuple | list) else [rec]
    fields = fields[: len(COLUMNS)] + [None] * (len(COLUMNS) - len(fields))
    return tuple(_fit(c, v) for c, v in zip(COLUMNS, fields, strict=True))


def fitted_named(columns: Sequence[str], row: Sequence[Any]) -> tuple[object, ...]:
    """A record given with its column names (a copy from SQLite, whose columns are untyped)."""
    return tuple(v if c == "id" else _fit(c, v) for c, v in zip(columns, row, strict=True))


class PgSink:
    """What the audit writer writes a batch through when the log is in PostgreSQL."""

    def __init__(self, url: str) -> None:
        self.url = url
        ready.ensure_pg(url)  # the writer's start: a new database gets its schema here
        self.conn = open_audit(url)
        self._months: set[tuple[int, int]] = set()
        self.coerced = 0

    def write(self, batch: Sequence[Sequence[Any]], on_coerce: Callable[[Exception], None],
              sealer: Sealer) -> Seal:
        months = months_of(batch)
        try:
            return self._copy(batch, months, sealer, False)
        except OperationalError:
            raise
        except StoreError as exc:  # not the server: a record it refuses; fit each one
            on_coerce(exc)
            return self._copy([fitted(r) for r in batch], months, sealer, True)

    def _copy(self, batch: Sequence[Sequence[Any]], months: set[tuple[int, int]],
              sealer: Sealer, coerced: bool) -> Seal:
        conn = self.conn
        prepared = None if coerced else sealer.prepare(batch)  # hashed while COPY runs
        try:
            with conn:
                ensure_partitions(conn, months, self._months)
                # ids in commit order across nodes: forwarding reads after the last id it
                # sent (addon/forward/source.py), so no later commit may hold a smaller one
                conn.execute("SELECT pg_advisory_xact_lock(4244)")
                with conn.raw.cursor() as cur, cur.copy(COPY) as copy:
                    for rec in batch:
                        copy.write_row(rec)
                # under the lock the batch's ids are the sequence's last len(batch)
                row = conn.execute("SELECT currval('audit_id_seq')").fetchone()
                assert row is not None
                last = int(row[0])
                return sealer.seal(conn, batch, last - len(batch) + 1, read_back=coerced,
                                   prepared=prepared)
        except psycopg.Error as exc:
            self._months.clear()  # a rolled-back partition is not there after all
            raise pg.error(exc) from exc
        except (TypeError, ValueError, OverflowError) as exc:
            self._months.clear()
            raise DataError(str(exc)) from exc

    def analyze(self) -> None:
        self.conn.execute("ANALYZE audit")

    def close(self) -> None:
        self.conn.close()


def prune(url: str, before: float, on_progress: Callable[[int], None] | None = None,
          kept: Kept = NOBODY) -> int:
    """Drop the months wholly before `before`, delete the rest of the older records; a
    month that holds records under a legal hold (`kept`) loses the others, row by row."""
    conn = pg.connect(url)
    total = 0
    clause, args = held_clause(kept)
    try:
        rows = conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'audit' "
            "AND c.relname LIKE 'audit\\_____\\___' ORDER BY 1").fetchall()
        for (name,) in rows:
            year, month = int(name[6:10]), int(name[11:13])
            lo, hi = month_bounds(year, month)
            if hi <= before and not kept:
                with conn:
                    counted = conn.execute(f"SELECT count(*) FROM {name}").fetchone()  # noqa: S608
                    n = int(counted[0]) if counted else 0
                    conn.execute(f"DROP TABLE {name}")
            elif lo < before:
                with conn:
                    n = conn.execute(f"DELETE FROM {name} WHERE ts < ?{clause}",  # noqa: S608
                                     (before, *args)).rowcount
            else:
                continue
            total += n
            if on_progress is not None and n:
                on_progress(n)
        with conn:
            n = conn.execute(f"DELETE FROM audit_other WHERE ts < ?{clause}",  # noqa: S608
                             (before, *args)).rowcount
        total += n
        if on_progress is not None and n:
            on_progress(n)
        return total
    finally:
        conn.close()
