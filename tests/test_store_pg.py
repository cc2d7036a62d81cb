"""The PostgreSQL adapter: guarita's SQL as PostgreSQL reads it, against a real server."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from addon.errors import StateError
from addon.policy.paths import Paths
from addon.state import blocks, db, sessions
from addon.store import files, pg, seam
from addon.store.url import redact
from tests.support.store import made


def test_translation_turns_placeholders_and_percent_and_refuses_bare_reserved_names() -> None:
    t = pg.translate
    assert t('SELECT "user" FROM s WHERE "end" > ? AND x LIKE \'%a?\'') == \
        'SELECT "user" FROM s WHERE "end" > %s AND x LIKE \'%%a?\''
    assert t("SELECT user_level, users, 'user', current_user FROM audit") == \
        "SELECT user_level, users, 'user', current_user FROM audit"
    # PostgreSQL reads a bare `user` as the session's role, with no error: refused here
    for bare in ("SELECT user FROM sessions", "UPDATE s SET x = 1 WHERE end > ?",
                 'UPDATE s SET "user" = excluded.user'):
        with pytest.raises(seam.ProgrammingError, match="must be written"):
            t(bare)
    # a new row's id is the statement's own RETURNING, never guessed from the table's name
    assert "RETURNING" not in t("INSERT INTO blocks (kind) VALUES (?)")


@given(st.text(alphabet="abc '?%_\"", max_size=40))
def test_translation_turns_every_unquoted_question_mark_into_one_placeholder(sql: str) -> None:
    marks, quote = 0, None
    for ch in sql:  # read left to right, as PostgreSQL does
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "?":
            marks += 1
    if quote:
        return  # an unclosed quote is not SQL
    out = pg.translate(sql)
    assert out.count("%s") == marks
    assert out.replace("%%", "").replace("%s", "").count("%") == 0  # every other % doubled


def test_a_url_never_shows_its_password() -> None:
    assert redact("postgresql://g:s3cret@db:5432/x") == "postgresql://g:***@db:5432/x"
    assert redact("postgresql://db/x") == "postgresql://db/x"


def test_rows_answer_by_name_and_position(postgres) -> None:  # noqa: ANN001
    conn = pg.connect(postgres.create_database("adapter_rows"))
    row = conn.execute("SELECT 1 AS a, 'x' AS \"user\"").fetchone()
    assert row is not None and row["a"] == 1 and row[1] == "x" and dict(row) == {"a": 1, "user": "x"}
    assert row == (1, "x") and list(row) == [1, "x"]


def test_with_is_one_transaction_and_errors_are_the_seams(postgres) -> None:  # noqa: ANN001
    conn = pg.connect(postgres.create_database("adapter_tx"))
    conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY)")
    with pytest.raises(seam.IntegrityError, match="duplicate key"):
        with conn:
            conn.execute("INSERT INTO t VALUES (?)", ("a",))
            with conn:  # a nested block joins the outer transaction
                conn.execute("INSERT INTO t VALUES (?)", ("b",))
            conn.execute("INSERT INTO t VALUES (?)", ("a",))
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 0  # all rolled back
    with pytest.raises(seam.ProgrammingError):
        conn.execute("SELECT nothing FROM t")


def test_the_state_reaches_other_connections_through_its_version(postgres) -> None:  # noqa: ANN001
    paths = Paths((), Path("."), Path("."), database=postgres.create_database("adapter_version"))
    writer, reader = made(paths), made(paths)
    before = db.data_version(reader)
    sessions.login(writer, "ana", "10.0.0.1", None, "ti")
    assert db.data_version(reader) > before
    seen = db.data_version(reader)
    blocks.block(writer, "machine", "10.0.0.9", "virus", "ti")
    assert db.data_version(reader) > seen and blocks.active(reader)


def test_a_server_restart_is_survived_by_the_next_call(postgres) -> None:  # noqa: ANN001
    paths = Paths((), Path("."), Path("."), database=postgres.create_database("adapter_restart"))
    conn = made(paths)
    sessions.login(conn, "ana", "10.0.0.1", None, "ti")
    postgres.stop()
    try:
        with pytest.raises(seam.OperationalError):
            sessions.active(conn)
    finally:
        postgres.start()
    assert sessions.active(conn) == {"10.0.0.1": "ana"}


def test_an_unreachable_server_is_one_line_without_the_password() -> None:
    paths = Paths((), Path("."), Path("."), database="postgresql://g:s3cret@127.0.0.1:1/x")
    with pytest.raises(StateError) as exc:
        db.connect(paths)
    assert "postgresql://g:***@127.0.0.1:1/x: cannot open state database" in str(exc.value)
    assert "s3cret" not in str(exc.value) and "\n" not in str(exc.value)


def test_a_new_table_gets_its_ids_with_no_list_to_update(postgres) -> None:  # noqa: ANN001
    """The trap of issue 23: a table the adapter did not know got `lastrowid = None`, 0
    to its callers. Ids come from `RETURNING id` now, on both engines."""
    engines = ((pg.connect(postgres.create_database("adapter_ids")), "GENERATED ALWAYS AS IDENTITY"),
               (files.SqliteConnection(sqlite3.connect(":memory:")), ""))
    for conn, identity in engines:
        with conn:
            conn.execute(f"CREATE TABLE brand_new (id INTEGER {identity} PRIMARY KEY, note TEXT)")
            first = seam.insert_returning_id(conn, "INSERT INTO brand_new (note) VALUES (?)", ("a",))
            second = seam.insert_returning_id(conn, "INSERT INTO brand_new (note) VALUES (?)", ("b",))
        assert (first, second) == (1, 2)
        conn.close()
