"""The embedded SQLite files as the seam gives them: sqlite3's rows and transactions, and
the seam's errors instead of sqlite3's, so callers catch one vocabulary for both engines."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from addon.store import errors, files, seam


def _made(tmp_path: Path) -> Path:
    path = tmp_path / "t.db"
    with files.open_file(path) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)")
        conn.execute("CREATE TRIGGER keep BEFORE DELETE ON t BEGIN "
                     "SELECT RAISE(ABORT, 'append-only'); END")
        conn.execute("INSERT INTO t (name) VALUES (?)", ("ana",))
    return path


def test_rows_answer_by_name_and_transactions_commit_or_roll_back(tmp_path: Path) -> None:
    path = _made(tmp_path)
    conn = files.open_file(path)
    with pytest.raises(RuntimeError), conn:
        conn.execute("INSERT INTO t (name) VALUES (?)", ("bia",))
        raise RuntimeError("the caller failed")
    row = conn.execute("SELECT id, name FROM t").fetchone()
    assert (row["id"], row["name"], dict(row)) == (1, "ana", {"id": 1, "name": "ana"})
    assert [r["name"] for r in conn.execute("SELECT name FROM t")] == ["ana"]  # bia rolled back
    assert files.open_file(path, rows=False).execute("SELECT name FROM t").fetchall() == [("ana",)]
    assert seam.insert_returning_id(conn, "INSERT INTO t (name) VALUES (?)", ("caio",)) == 2


@pytest.mark.parametrize(("sql", "params", "kind", "message"), [
    ("INSERT INTO t (name) VALUES (?)", ("ana",), errors.IntegrityError, "UNIQUE"),
    ("DELETE FROM t", (), errors.IntegrityError, "append-only"),
    ("SELEKT 1", (), errors.OperationalError, "syntax error"),
    ("INSERT INTO t (name) VALUES (?)", ({"not": "bindable"},), errors.ProgrammingError, "type"),
    ("INSERT INTO t (name) VALUES (?)", (), errors.ProgrammingError, "bindings"),
])
def test_sqlite_errors_are_the_seams(tmp_path: Path, sql: str, params: tuple[object, ...],
                                     kind: type[errors.StoreError], message: str) -> None:
    conn = files.open_file(_made(tmp_path))
    with pytest.raises(kind, match=message) as caught:
        conn.execute(sql, params)
    assert not isinstance(caught.value, sqlite3.Error)  # nothing above the seam sees sqlite3's
    assert isinstance(caught.value.__cause__, sqlite3.Error)  # the driver's kept as the cause
    assert isinstance(caught.value, seam.StoreError)


def test_a_read_only_file_refuses_writes_and_executemany_translates_too(tmp_path: Path) -> None:
    path = _made(tmp_path)
    ro = files.open_file(path, readonly=True)
    with pytest.raises(errors.OperationalError, match="readonly"):
        ro.execute("INSERT INTO t (name) VALUES ('x')")
    rw = files.open_file(path)
    with pytest.raises(errors.IntegrityError), rw:
        rw.executemany("INSERT INTO t (name) VALUES (?)", [("dora",), ("ana",)])
    assert rw.execute("SELECT count(*) FROM t").fetchone()[0] == 1  # the batch rolled back


def test_a_failing_commit_and_a_missing_file_are_the_seams_errors(tmp_path: Path) -> None:
    conn = files.open_file(_made(tmp_path))
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("CREATE TABLE child (t_id INTEGER REFERENCES t(id) DEFERRABLE INITIALLY "
                 "DEFERRED)")
    with pytest.raises(errors.IntegrityError, match="FOREIGN KEY"), conn:
        conn.execute("INSERT INTO child VALUES (99)")  # checked only at the commit
    with pytest.raises(errors.OperationalError, match="unable to open"):
        files.open_file(tmp_path / "missing" / "t.db", readonly=True)


def test_a_row_that_fails_while_being_read_is_the_seams_error(tmp_path: Path) -> None:
    conn = files.open_file(_made(tmp_path))
    conn.executemany("INSERT INTO t (name) VALUES (?)", [("{}",), ("not json",)])
    # the statement starts on a good row; sqlite3 steps to the bad one while fetching
    for fetch in ("fetchall", "fetchone"):
        cur = conn.execute("SELECT json(name) FROM t WHERE id > 1 ORDER BY id")
        with pytest.raises(errors.OperationalError, match="malformed JSON"):
            getattr(cur, fetch)()


def test_one_line_keeps_a_drivers_message_on_one_line() -> None:
    assert errors.one_line(ValueError("duplicate key\n  DETAIL:  Key (ip)=(x)")) == \
        "duplicate key DETAIL: Key (ip)=(x)"
    assert errors.one_line(ValueError()) == "ValueError"
