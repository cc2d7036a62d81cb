"""Opening the embedded SQLite files for the modules above the storage package: rows by
column name, the timeouts each use needs, read-only where only reading is wanted, and
SQLite's exceptions turned into the seam's own (`addon/store/errors.py`), as PostgreSQL's
are by its adapter. The audit writer's connection is opened by `addon/audit/schema.py`
with its own PRAGMAs and wrapped in `SqliteConnection` too."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from addon.store import errors
from addon.store.errors import StoreError


def error(exc: sqlite3.Error) -> StoreError:
    """The seam's exception for a SQLite one (message kept)."""
    message = errors.one_line(exc)
    if isinstance(exc, sqlite3.IntegrityError):  # a constraint, or a trigger's RAISE(ABORT)
        return errors.IntegrityError(message)
    if isinstance(exc, sqlite3.OperationalError):
        return errors.OperationalError(message)
    if isinstance(exc, sqlite3.ProgrammingError | sqlite3.InterfaceError):
        return errors.ProgrammingError(message)
    if isinstance(exc, sqlite3.DataError):
        return errors.DataError(message)
    return errors.DatabaseError(message)


class Cursor:
    """A sqlite3 cursor whose fetches raise the seam's errors (a step can fail mid-read)."""

    __slots__ = ("_cur",)

    def __init__(self, cur: sqlite3.Cursor) -> None:
        self._cur = cur

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount

    def fetchone(self) -> Any:
        try:
            return self._cur.fetchone()
        except sqlite3.Error as exc:
            raise error(exc) from exc

    def fetchall(self) -> list[Any]:
        try:
            return self._cur.fetchall()
        except sqlite3.Error as exc:
            raise error(exc) from exc

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class SqliteConnection:
    """A sqlite3 connection that answers as the seam's `Connection`: the same statements,
    transactions and rows as sqlite3 gives, and the seam's errors instead of sqlite3's."""

    __slots__ = ("raw",)
    dialect = "sqlite"

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw  # for what only SQLite has (the online backup API, PRAGMAs)

    def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = (), /) -> Cursor:
        try:
            return Cursor(self.raw.execute(sql, parameters))
        except sqlite3.Error as exc:
            raise error(exc) from exc

    def executemany(self, sql: str, parameters: Any, /) -> Cursor:
        try:
            return Cursor(self.raw.executemany(sql, parameters))
        except sqlite3.Error as exc:
            raise error(exc) from exc

    def commit(self) -> None:
        try:
            self.raw.commit()
        except sqlite3.Error as exc:
            raise error(exc) from exc

    def rollback(self) -> None:
        try:
            self.raw.rollback()
        except sqlite3.Error as exc:
            raise error(exc) from exc

    def close(self) -> None:
        self.raw.close()

    def __enter__(self) -> SqliteConnection:
        self.raw.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None, /) -> bool:
        try:
            return bool(self.raw.__exit__(kind, exc, tb))  # commits, or rolls back
        except sqlite3.Error as failed:  # the commit failed (disk full, a deferred check)
            raise error(failed) from failed


def open_file(path: Path, readonly: bool = False, timeout: float = 5.0, rows: bool = True,
              shared: bool = True) -> SqliteConnection:
    """`readonly`: the file as it is (an auditor's read, a state snapshot); `rows`: rows by
    name; `shared`: usable from the thread that did not open it (the proxy's pools)."""
    try:
        if readonly:
            raw = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout,
                                  check_same_thread=not shared)
        else:  # implicit transactions, as every caller expects
            raw = sqlite3.connect(path, timeout=timeout, check_same_thread=not shared)
    except sqlite3.Error as exc:
        raise error(exc) from exc
    if rows:
        raw.row_factory = sqlite3.Row
    return SqliteConnection(raw)
