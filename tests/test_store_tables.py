"""store.tables: the declared schema is what the one history makes, on both engines.

Each engine's database is migrated for real (new, and from every earlier numbered step)
and compared with the declaration by Alembic's own comparison: any difference (a column,
a type, nullability, an index) is a revision or a declaration that was forgotten.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from addon.audit.schema import COLUMNS
from addon.store import tables, upgrade
from addon.store.baseline import audit as old_audit
from addon.store.baseline import state as old_state


def _sqlite_quirk(diff: Any) -> bool:
    """SQLite reports a primary key column as nullable (a non-integer key may hold NULL,
    an old bug it keeps; a rowid key never does): not a difference of the schema."""
    if not (isinstance(diff, list) and len(diff) == 1 and diff[0][0] == "modify_nullable"):
        return False
    _, _, table, column, *_ = diff[0]
    return bool(tables.metadata.tables[table].c[column].primary_key)


def differences(engine: Any, branches: frozenset[str]) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "include_object": tables.include_for(conn.dialect.name, branches),
            "version_table": "guarita_alembic_version"})
        found = list(compare_metadata(context, tables.metadata))
    if engine.dialect.name == "sqlite":
        found = [d for d in found if not _sqlite_quirk(d)]
    return found


@pytest.mark.parametrize("steps_done", [0, 1, 2, 3, 4])
def test_sqlite_state_made_new_or_from_any_earlier_step_is_the_declared_schema(
        tmp_path: Path, steps_done: int) -> None:
    path = tmp_path / "state.db"
    old = sqlite3.connect(path, isolation_level=None)
    for step in old_state.SQLITE_STEPS[:steps_done]:
        step(old)
    old.execute(f"PRAGMA user_version = {steps_done}")
    old.close()
    upgrade.upgrade_sqlite(path, "state")
    with upgrade.sqlite_engine(path) as engine:
        assert differences(engine, frozenset({"state"})) == []


@pytest.mark.parametrize("steps_done", [0, 1, 2])
def test_sqlite_audit_made_new_or_from_any_earlier_step_is_the_declared_schema(
        tmp_path: Path, steps_done: int) -> None:
    path = tmp_path / "audit.db"
    old = sqlite3.connect(path, isolation_level=None)
    for step in old_audit.SQLITE_STEPS[:steps_done]:
        step(old)
    old.execute(f"PRAGMA user_version = {steps_done}")
    old.close()
    upgrade.upgrade_sqlite(path, "audit")
    with upgrade.sqlite_engine(path) as engine:
        assert differences(engine, frozenset({"audit"})) == []
    columns = [r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(audit)")]
    assert columns == ["id", *COLUMNS]  # in the writer's order


@pytest.mark.parametrize("steps_done", [0, 1, 2, 3])
def test_postgresql_made_new_or_from_any_earlier_step_is_the_declared_schema(
        postgres, steps_done: int) -> None:  # noqa: ANN001
    import psycopg

    url = postgres.create_database(f"tables_{steps_done}_{os.getpid()}")
    if steps_done:
        with psycopg.connect(url, autocommit=True) as old:
            for script in old_state.PG_STEPS[:steps_done]:
                old.execute(script)
            old.execute("CREATE TABLE guarita_schema (name TEXT PRIMARY KEY, version INTEGER)")
            old.execute("INSERT INTO guarita_schema VALUES ('state', %s)", (steps_done,))
    upgrade.upgrade_pg(url)
    with upgrade.pg_engine(url) as engine:
        assert differences(engine, frozenset({"state", "audit"})) == []


def test_the_comparison_sees_a_forgotten_revision(tmp_path: Path) -> None:
    """The check can fail: a column declared but never migrated is reported."""
    path = tmp_path / "state.db"
    upgrade.upgrade_sqlite(path, "state")
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE releases DROP COLUMN decision_note")  # its revision never ran
    conn.commit()
    with upgrade.sqlite_engine(path) as engine:
        found = differences(engine, frozenset({"state"}))
    assert any(d[0] == "add_column" and d[3].name == "decision_note" for d in found if isinstance(d, tuple))


def test_every_table_belongs_to_a_branch_and_the_audit_follows_its_writer() -> None:
    assert set(tables.BRANCH_OF.values()) == {"state", "audit"}
    assert [c.name for c in tables.audit.columns] == ["id", *COLUMNS]
