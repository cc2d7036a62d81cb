"""PostgreSQL behind the seam the state and audit code speak (`addon/store/seam.py`).

guarita's SQL is written once, in the subset both engines share (`ON CONFLICT`,
`FILTER`, `RETURNING`, partial indexes); this adapter makes a psycopg 3 connection
answer as the seam's `Connection`, as SQLite's does, so one function serves both
backends and the test suite runs it against both:

- placeholders: `?` becomes `%s` outside quotes, and every `%` becomes `%%`;
- the two column names PostgreSQL reserves, `user` and `end`, are written quoted in the
  statements themselves (`seam.quoted`); a bare one is refused here, as PostgreSQL would
  read a bare `user` as the session's role and answer without an error;
- `with conn:` is one transaction (nested blocks join the outer one), reads outside it
  are autocommitted, as with sqlite3's implicit transactions;
- no `lastrowid`: a new row's id is asked for in the statement itself, on both engines
  (`seam.insert_returning_id`), so no table needs listing here;
- rows answer by name and by position, like `sqlite3.Row`;
- errors are the seam's (`addon/store/errors.py`: `IntegrityError`, `OperationalError`,
  ...), as SQLite's connection raises them, with PostgreSQL's message.

A connection that broke (the server restarted) is opened again on the next call.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import pq
from psycopg.types.string import TextLoader

from addon.store import errors
from addon.store.errors import StoreError
from addon.store.url import redact

__all__ = ["redact"]

RESERVED = ("user", "end")
_TOKEN = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|\?|%|\b(?:user|end)\b(?!\s*\()|[^'\"?%a-z]+|[a-z_]\w*"
                    r"|.", re.S)


def is_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("postgresql://", "postgres://"))


@lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """SQLite-flavoured SQL as PostgreSQL reads it (cached: the same statements recur):
    `?` marks as psycopg's, `%` doubled, and a bare `user` or `end` refused."""
    out = []
    for tok in _TOKEN.findall(sql):
        if tok == "?":
            out.append("%s")
        elif tok == "%":
            out.append("%%")
        elif tok in RESERVED:  # PostgreSQL would read a bare `user` as CURRENT_USER, silently
            raise errors.ProgrammingError(
                f"the column name {tok} must be written \"{tok}\" (seam.quoted): {sql[:80]}")
        elif tok.startswith(("'", '"')):
            out.append(tok.replace("%", "%%"))  # psycopg reads % even inside quotes
        else:
            out.append(tok)
    return "".join(out)


class Row:
    """A result row by position or by column name; `dict(row)` works, as with sqlite3.Row."""

    __slots__ = ("_names", "_values")

    def __init__(self, names: tuple[str, ...], values: Sequence[Any]) -> None:
        self._names = names
        self._values = tuple(values)

    def __getitem__(self, key: int | str) -> Any:
        if isinstance(key, str):
            return self._values[self._names.index(key)]
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._names)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Row):
            return self._values == other._values
        return self._values == other

    def __hash__(self) -> int:
        return hash(self._values)

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._names, self._values, strict=True))!r})"


def _row_factory(cursor: Any) -> Any:
    names = tuple(d.name for d in cursor.description or ())
    return lambda values: Row(names, values)


def error(exc: psycopg.Error) -> StoreError:
    """The seam's exception for a PostgreSQL one (message kept, on one line)."""
    message = errors.one_line(exc)
    if isinstance(exc, psycopg.IntegrityError):
        return errors.IntegrityError(message)
    if isinstance(exc, psycopg.errors.RaiseException):
        return errors.IntegrityError(message)  # a trigger refused it (append-only history)
    if isinstance(exc, psycopg.OperationalError | psycopg.errors.AdminShutdown):
        return errors.OperationalError(message)
    if isinstance(exc, psycopg.ProgrammingError):
        return errors.ProgrammingError(message)
    if isinstance(exc, psycopg.DataError):
        return errors.DataError(message)
    return errors.DatabaseError(message)


class Cursor:
    def __init__(self, cur: psycopg.Cursor[Any]) -> None:
        self._cur = cur
        self.rowcount = cur.rowcount

    def fetchone(self) -> Row | None:
        return self._cur.fetchone() if self._cur.description else None

    def fetchall(self) -> list[Row]:
        return self._cur.fetchall() if self._cur.description else []

    def __iter__(self) -> Iterator[Row]:
        return iter(self.fetchall())


class PgConnection:
    """One psycopg connection with sqlite3.Connection's manners (see the module's docstring)."""

    dialect = "postgresql"

    def __init__(self, url: str, connect_timeout: float = 5.0) -> None:
        self.url = url
        self.connect_timeout = connect_timeout
        self._depth = 0
        self._conn: psycopg.Connection[Any] | None = None
        self._open()

    def _open(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            try:
                self._conn = psycopg.connect(self.url, autocommit=True,
                                             connect_timeout=max(1, int(self.connect_timeout)),
                                             row_factory=_row_factory)
                # JSON columns read as their text, as SQLite gives them
                self._conn.adapters.register_loader("jsonb", TextLoader)
            except psycopg.Error as exc:
                self._conn = None
                raise error(exc) from exc
        return self._conn

    @property
    def raw(self) -> psycopg.Connection[Any]:
        """The psycopg connection itself, for what only PostgreSQL has (COPY)."""
        return self._open()

    @property
    def in_transaction(self) -> bool:
        return (self._conn is not None and not self._conn.closed and
                self._conn.info.transaction_status != pq.TransactionStatus.IDLE)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        text = translate(sql)
        conn = self._open()
        try:
            cur = conn.execute(text, tuple(params))
            return Cursor(cur)
        except psycopg.Error as exc:
            raise error(exc) from exc

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        text = translate(sql)
        try:
            with self._open().cursor() as cur:
                cur.executemany(text, [tuple(r) for r in rows])
        except psycopg.Error as exc:
            raise error(exc) from exc

    def commit(self) -> None:
        if self.in_transaction:
            self.execute("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            self.execute("ROLLBACK")

    def __enter__(self) -> PgConnection:
        if self._depth == 0 and not self.in_transaction:
            self.execute("BEGIN")
        self._depth += 1
        return self

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        self._depth -= 1
        if self._depth:
            return
        try:
            if kind is None:
                self.commit()
            else:
                self.rollback()
        except StoreError:
            if kind is None:
                raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def connect(url: str) -> PgConnection:
    return PgConnection(url)
