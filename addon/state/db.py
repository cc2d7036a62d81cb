"""The state database: one SQLite file (WAL), or PostgreSQL shared by every node;
schema created and migrated on open.

The CLI writes, the running proxy reads a snapshot and re-reads it when
`data_version` says a change was committed (SQLite's `PRAGMA data_version` on one
machine; PostgreSQL's `state_version` row, bumped by triggers, for many): that is how
a block or a release reaches every proxy within seconds, with no restart and no
polling of every table.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import cast

from addon.errors import StateError
from addon.policy.model import Paths
from addon.store import dialect
from addon.store.migrate import migrate

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
  ip TEXT PRIMARY KEY,
  user TEXT NOT NULL,
  since REAL NOT NULL,
  until REAL,
  source TEXT NOT NULL DEFAULT 'cli'
);
CREATE TABLE IF NOT EXISTS blocks (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('user', 'machine')),
  subject TEXT NOT NULL,
  reason TEXT NOT NULL,
  operator TEXT NOT NULL,
  created REAL NOT NULL,
  lifted REAL,
  lifted_by TEXT,
  authorized_by TEXT
);
CREATE INDEX IF NOT EXISTS blocks_active ON blocks (kind, subject) WHERE lifted IS NULL;
CREATE TABLE IF NOT EXISTS releases (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('domain', 'category', 'event', 'level')),
  target_kind TEXT NOT NULL CHECK (target_kind IN ('user', 'group', 'machine')),
  target TEXT NOT NULL,
  obj TEXT NOT NULL,
  start REAL NOT NULL,
  end REAL NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('requested', 'active', 'denied', 'revoked', 'appealed')),
  reason TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  approved_by TEXT,
  committee_ref TEXT,
  analysis_ref TEXT,
  extended INTEGER NOT NULL DEFAULT 0,
  event_date TEXT,
  decision_note TEXT,
  created REAL NOT NULL,
  updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS releases_status ON releases (status, end);
CREATE TABLE IF NOT EXISTS admin_log (
  id INTEGER PRIMARY KEY,
  at REAL NOT NULL,
  operator TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  before TEXT,
  after TEXT
);
CREATE TRIGGER IF NOT EXISTS admin_log_no_update BEFORE UPDATE ON admin_log
BEGIN SELECT RAISE(ABORT, 'the admin history is append-only'); END;
CREATE TRIGGER IF NOT EXISTS admin_log_no_delete BEFORE DELETE ON admin_log
BEGIN SELECT RAISE(ABORT, 'the admin history is append-only'); END;
"""


def _statements(script: str) -> list[str]:
    """Split a script into statements (triggers hold `;` of their own)."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    return out


def _v1_schema(conn: sqlite3.Connection) -> None:
    for statement in _statements(SCHEMA):
        conn.execute(statement)


def _v2_request_ref(conn: sqlite3.Connection) -> None:
    """A request filed from a block page keeps that page's reference (Art. 9 §13)."""
    conn.execute("ALTER TABLE releases ADD COLUMN ref TEXT")
    conn.execute("CREATE INDEX releases_ref ON releases (ref) WHERE ref IS NOT NULL")


def _v3_outbox(conn: sqlite3.Connection) -> None:
    """Notifications (Art. 19, the release loop) are queued here before they are sent."""
    from addon.notify import outbox

    outbox.create(conn)


def _v4_console_sessions(conn: sqlite3.Connection) -> None:
    """Console sign-ins kept on the server, so signing out (or a role taken away) ends them."""
    conn.execute("CREATE TABLE console_sessions (id TEXT PRIMARY KEY, login TEXT NOT NULL, "
                 "roles TEXT NOT NULL, csrf TEXT NOT NULL, created REAL NOT NULL, "
                 "seen REAL NOT NULL, checked REAL NOT NULL, ended REAL, why TEXT)")
    conn.execute("CREATE INDEX console_sessions_login ON console_sessions (login) "
                 "WHERE ended IS NULL")


# Append a step to change the schema; never edit one that has shipped.
STEPS = (_v1_schema, _v2_request_ref, _v3_outbox, _v4_console_sessions)


def state_path(state_dir: Path) -> Path:
    return state_dir / "state.db"


def connect(where: Paths | Path, readonly: bool = False) -> sqlite3.Connection:
    """Open (and create) the state database of a policy's `paths` (or of a state folder);
    errors become one-line StateErrors."""
    if isinstance(where, Paths) and where.database:
        return _connect_pg(where.database)
    state_dir = where.state_dir if isinstance(where, Paths) else where
    path = state_path(state_dir)
    try:
        if readonly and path.exists():
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5,
                                   check_same_thread=False)
        else:
            state_dir.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=5, check_same_thread=False,
                                   isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            migrate(conn, STEPS, str(path))
            conn.isolation_level = "DEFERRED"  # implicit transactions, as every caller expects
        conn.row_factory = sqlite3.Row
        return conn
    except (sqlite3.Error, OSError) as exc:
        raise StateError(f"{path}: cannot open state database: {exc}") from exc


def _connect_pg(url: str) -> sqlite3.Connection:
    from addon.state import pg_schema
    from addon.store import pg

    try:
        conn = pg.connect(url)
        pg.migrate(conn, "state", pg_schema.STEPS, pg.redact(url))
    except sqlite3.Error as exc:
        raise StateError(f"{pg.redact(url)}: cannot open state database: {exc}") from exc
    # the adapter speaks the part of sqlite3.Connection the state modules use
    return cast(sqlite3.Connection, conn)


def data_version(conn: sqlite3.Connection) -> int:
    """A number that changes whenever someone commits a change to the state."""
    if dialect(conn) == "postgresql":
        return int(conn.execute("SELECT version FROM state_version").fetchone()[0])
    return int(conn.execute("PRAGMA data_version").fetchone()[0])
