"""The audit schema as it shipped before Alembic, frozen: each engine's numbered steps.

Written out from a frozen copy of the columns, not from the live declaration: the old
PostgreSQL step was generated from `COLUMNS` as it stood, so adding a column the way the
docs said edited a step that had shipped (every existing log stayed at version 1 and COPY
failed). NEVER EDIT: a new column is a new revision in addon/store/migrations/versions/.
"""

from __future__ import annotations

import sqlite3

# The 21 columns the audit log had when the numbered steps ended, with their types.
SHIPPED: tuple[tuple[str, type], ...] = (
    ("ts", float), ("ref", str), ("user", str), ("client_ip", str), ("machine_level", int),
    ("user_level", int), ("level", int), ("method", str), ("scheme", str), ("host", str),
    ("port", int), ("path", str), ("status", int), ("decision", str), ("rule", str),
    ("categories", str), ("release_id", int), ("bytes_in", int), ("bytes_out", int),
    ("duration_ms", float), ("source", str),
)
INDEXES = (("ts",), ("user", "ts"), ("client_ip", "ts"), ("host", "ts"), ("decision", "ts"),
           ("ref",))
_SQLITE = {int: "INTEGER", float: "FLOAT", str: "TEXT"}
_PG = {float: "DOUBLE PRECISION", int: "BIGINT", str: "TEXT"}


def _v1_table(conn: sqlite3.Connection) -> None:
    """The first schema, as sqlite-utils wrote it (the same names, so old files match)."""
    cols = ",\n".join(f"   [{name}] {_SQLITE[t]}" for name, t in SHIPPED[:20])
    conn.execute(f"CREATE TABLE IF NOT EXISTS [audit] (\n   [id] INTEGER PRIMARY KEY,\n{cols}\n)")
    for index in INDEXES:
        name = "idx_audit_" + "_".join(index)
        on = ", ".join(f"[{c}]" for c in index)
        conn.execute(f"CREATE INDEX IF NOT EXISTS [{name}]\n    ON [audit] ({on})")


def _v2_source(conn: sqlite3.Connection) -> None:
    """audit gains `source` (how the user was identified)."""
    if "source" not in {r[1] for r in conn.execute("PRAGMA table_info(audit)")}:
        conn.execute("ALTER TABLE audit ADD COLUMN [source] TEXT")


SQLITE_STEPS = (_v1_table, _v2_source)


def _pg_type(column: str, kind: type) -> str:
    # categories as jsonb: parsed once when written, not at every report by category
    return "JSONB" if column == "categories" else _PG[kind]


PG_STEPS = ("\n".join([
    "CREATE TABLE audit (id BIGSERIAL, "
    + ", ".join(f'"{c}" {_pg_type(c, k)}' for c, k in SHIPPED) + ") PARTITION BY RANGE (ts);",
    "CREATE TABLE audit_other PARTITION OF audit DEFAULT;",
    *(f"CREATE INDEX audit_{'_'.join(cols)} ON audit ({', '.join(f'{chr(34)}{c}{chr(34)}' for c in cols)});"
      for cols in INDEXES),
]),)
