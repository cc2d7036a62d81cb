"""What the modules above the storage package hold of a database: a connection of either
engine, its rows and its errors, so that none of them imports a driver (ruff's banned-api
rule keeps `sqlite3` and `psycopg` inside `addon/store/` and the two audit sinks).

SQLite's connection (`addon/store/files.py`) and PostgreSQL's (`addon/store/pg.py`) speak
the same subset (`?` placeholders, `with conn:` as one transaction, rows by name) and raise
the same error classes, guarita's own (`addon/store/errors.py`), so a state, query or
console function is written once for both and mypy checks it against this, not against
either driver.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import Any, Protocol

from addon.store.errors import (
    DatabaseError,
    DataError,
    IntegrityError,
    OperationalError,
    ProgrammingError,
    StoreError,
)

__all__ = ["Connection", "Cursor", "DataError", "DatabaseError", "IntegrityError",
           "OperationalError", "ProgrammingError", "Row", "StoreError", "insert_returning_id",
           "quoted"]


class Row(Protocol):
    """A row by position or by column name (sqlite3.Row, or pg.Row)."""

    def __getitem__(self, key: Any, /) -> Any: ...

    def keys(self) -> list[str]: ...


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    def execute(self, sql: str, parameters: Any = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Any, /) -> object: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def close(self) -> None: ...

    def __enter__(self) -> Any: ...

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None, /) -> Any: ...


def insert_returning_id(conn: Connection, sql: str, parameters: Any) -> int:
    """Run one INSERT and give the new row's id, the same way on both engines (`RETURNING
    id`: SQLite 3.35+ and PostgreSQL), so no table has to be listed anywhere for it."""
    rows = conn.execute(f"{sql} RETURNING id", parameters).fetchall()  # noqa: S608
    if len(rows) != 1:
        raise DatabaseError(f"an INSERT gave {len(rows)} rows, not one: {sql[:60]}")
    return int(rows[0][0])



def quoted(name: str) -> str:
    """A column's name as both engines read it as a name, whatever it is: `user` and `end`
    are words of PostgreSQL's SQL (a bare `user` is the session's role there, silently),
    so every statement writes those two, and every name it builds, in double quotes."""
    return '"' + name.replace('"', '""') + '"'
