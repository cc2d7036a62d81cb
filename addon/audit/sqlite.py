"""The audit writer's sink for a SQLite file: `executemany` in one transaction a batch, the
batch sealed inside it.

SQLite gives a table without AUTOINCREMENT the next id after the largest one present, so a
log whose every record was pruned (or whose newest were deleted) would give old ids again,
and a new record would sit inside a seal of records that are gone. The sink remembers the
largest id the log ever gave (its records' or its seals') and, when the table has fallen
below it, writes the batch's first record at the id after it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from addon.audit.schema import COLUMNS, INSERT, NAMES, open_audit
from addon.audit.seal import Seal
from addon.audit.sealer import Sealer
from addon.policy.text import safe_text
from addon.store import ready
from addon.store.seam import ProgrammingError

Record = tuple[object, ...]
INSERT_AT = "INSERT INTO audit (id, {}) VALUES (?, {})".format(  # noqa: S608 - fixed names
    NAMES, ", ".join("?" for _ in COLUMNS))
TOP = "SELECT max(id) FROM audit"
LAST_SEALED = "SELECT last_id FROM audit_seals ORDER BY first_id DESC LIMIT 1"


# What SQLite raises for a record it cannot take (wrong types, wrong number of fields), as
# opposed to a database that cannot be written (OperationalError, OSError).
RECORD_ERRORS = (ValueError, TypeError, OverflowError, ProgrammingError)


def _as_row(rec: object) -> tuple[object, ...]:
    """Any record as a row of the right width: fields as safe values, missing ones empty."""
    fields = list(rec) if isinstance(rec, tuple | list) else [rec]
    fields = fields[: len(COLUMNS)] + [None] * (len(COLUMNS) - len(fields))
    return tuple(_as_text(v) for v in fields)


def _as_text(value: object) -> object:
    """A value SQLite will take: numbers in range as they are, anything else as safe text."""
    if value is None or isinstance(value, float):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63:
        return value
    return safe_text(value if isinstance(value, str) else repr(value))


class SqliteSink:
    """What the writer writes a batch through when the log is a SQLite file."""

    def __init__(self, path: Path) -> None:
        ready.ensure_sqlite(path, "audit")  # the writer's start: a new log gets its schema here
        self.conn = open_audit(path)
        sealed = self.conn.execute(LAST_SEALED).fetchone()
        self.floor = max(self._top(), int(sealed[0]) if sealed else 0)

    def _top(self) -> int:
        return int(self.conn.execute(TOP).fetchone()[0] or 0)

    def _insert(self, batch: list[Record], coerce: bool) -> None:
        """The batch into the open transaction, its first record past `floor` if needed."""
        conn = self.conn
        rest = batch
        if self._top() < self.floor:  # the ids after the table's largest were given before
            rest = batch[1:]
            first = batch[0]
            try:
                conn.execute(INSERT_AT, (self.floor + 1, *first))
            except RECORD_ERRORS:
                if not coerce:
                    raise
                conn.execute(INSERT_AT, (self.floor + 1, *_as_row(first)))
        if not coerce:
            conn.executemany(INSERT, rest)
            return
        for rec in rest:
            try:
                conn.execute(INSERT, rec)
            except RECORD_ERRORS:
                conn.execute(INSERT, _as_row(rec))

    def write(self, batch: list[Record], on_coerce: Callable[[Exception], None],
              sealer: Sealer) -> Seal:
        conn = self.conn
        coerced = False
        prepared = sealer.prepare(batch)  # hashed in the helper while SQLite writes
        with conn:
            try:
                self._insert(batch, coerce=False)
            except RECORD_ERRORS as exc:  # not the disk: a record SQLite refuses
                on_coerce(exc)
                coerced = True
                # executemany stored the rows before the bad one: start the batch again
                conn.rollback()
                self._insert(batch, coerce=True)
            # one transaction holds the write lock: the batch's ids are contiguous
            last = int(conn.execute("SELECT last_insert_rowid()").fetchone()[0])
            sealed = sealer.seal(conn, batch, last - len(batch) + 1, read_back=coerced,
                                 prepared=prepared)
        self.floor = max(self.floor, last)
        return sealed

    def analyze(self) -> None:
        """Refresh the planner's statistics (bounded sampling: milliseconds on any size).

        Without them SQLite answers "report by user since yesterday" by walking the whole
        user index (3 s on 10 million rows) instead of the day's slice of the time index.
        """
        self.conn.execute("PRAGMA analysis_limit=1000")
        self.conn.execute("ANALYZE")
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()
