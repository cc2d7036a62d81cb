"""The state schema as it shipped before Alembic, frozen: each engine's numbered steps.

These are the history an existing database went through (SQLite counted the steps in
`PRAGMA user_version`, PostgreSQL in the `guarita_schema` table). The first Alembic revision
of the state branch runs whichever of them a database still lacks, so a database made by
any earlier guarita, or none, arrives at the same schema. NEVER EDIT: a change to the
schema is a new revision in addon/store/migrations/versions/.
"""

from __future__ import annotations

import sqlite3

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

OUTBOX = (
    """CREATE TABLE outbox (
      id INTEGER PRIMARY KEY,
      key TEXT NOT NULL UNIQUE,
      kind TEXT NOT NULL,
      to_kind TEXT NOT NULL CHECK (to_kind IN ('user', 'committee', 'address')),
      to_value TEXT NOT NULL,
      subject TEXT NOT NULL,
      body TEXT NOT NULL,
      created REAL NOT NULL,
      next_try REAL NOT NULL,
      tries INTEGER NOT NULL DEFAULT 0,
      status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
      address TEXT,
      sent REAL,
      error TEXT
    )""",
    "CREATE INDEX outbox_due ON outbox (status, next_try)",
    "CREATE INDEX outbox_address ON outbox (address, sent) WHERE status = 'sent'",
    # one row per digest period made: the digest is never made twice
    "CREATE TABLE digests (period TEXT PRIMARY KEY, made REAL NOT NULL, messages INTEGER NOT NULL)",
)


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
    for statement in OUTBOX:
        conn.execute(statement)


def _v4_console_sessions(conn: sqlite3.Connection) -> None:
    """Console sign-ins kept on the server, so signing out (or a role taken away) ends them."""
    conn.execute("CREATE TABLE console_sessions (id TEXT PRIMARY KEY, login TEXT NOT NULL, "
                 "roles TEXT NOT NULL, csrf TEXT NOT NULL, created REAL NOT NULL, "
                 "seen REAL NOT NULL, checked REAL NOT NULL, ended REAL, why TEXT)")
    conn.execute("CREATE INDEX console_sessions_login ON console_sessions (login) "
                 "WHERE ended IS NULL")


SQLITE_STEPS = (_v1_schema, _v2_request_ref, _v3_outbox, _v4_console_sessions)

# PostgreSQL: times are `double precision` (POSIX seconds; `real` would round them to
# minutes); the admin history refuses UPDATE and DELETE in a trigger; every change to
# sessions, blocks, releases and list files bumps `state_version`, which each node's
# reloader polls (SQLite's `PRAGMA data_version` plays that part on one machine).
V1 = """
CREATE TABLE sessions (
  ip TEXT PRIMARY KEY,
  "user" TEXT NOT NULL,
  since DOUBLE PRECISION NOT NULL,
  until DOUBLE PRECISION,
  source TEXT NOT NULL DEFAULT 'cli'
);
CREATE TABLE blocks (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('user', 'machine')),
  subject TEXT NOT NULL,
  reason TEXT NOT NULL,
  operator TEXT NOT NULL,
  created DOUBLE PRECISION NOT NULL,
  lifted DOUBLE PRECISION,
  lifted_by TEXT,
  authorized_by TEXT
);
CREATE INDEX blocks_active ON blocks (kind, subject) WHERE lifted IS NULL;
CREATE TABLE releases (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('domain', 'category', 'event', 'level')),
  target_kind TEXT NOT NULL CHECK (target_kind IN ('user', 'group', 'machine')),
  target TEXT NOT NULL,
  obj TEXT NOT NULL,
  start DOUBLE PRECISION NOT NULL,
  "end" DOUBLE PRECISION NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('requested', 'active', 'denied', 'revoked', 'appealed')),
  reason TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  approved_by TEXT,
  committee_ref TEXT,
  analysis_ref TEXT,
  extended INTEGER NOT NULL DEFAULT 0,
  event_date TEXT,
  decision_note TEXT,
  created DOUBLE PRECISION NOT NULL,
  updated DOUBLE PRECISION NOT NULL,
  ref TEXT
);
CREATE INDEX releases_status ON releases (status, "end");
CREATE INDEX releases_ref ON releases (ref) WHERE ref IS NOT NULL;
CREATE TABLE admin_log (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  at DOUBLE PRECISION NOT NULL,
  operator TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  before TEXT,
  after TEXT
);
CREATE FUNCTION guarita_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the admin history is append-only'; END $$;
CREATE TRIGGER admin_log_append_only BEFORE UPDATE OR DELETE ON admin_log
  FOR EACH ROW EXECUTE FUNCTION guarita_append_only();
CREATE TABLE outbox (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  to_kind TEXT NOT NULL CHECK (to_kind IN ('user', 'committee', 'address')),
  to_value TEXT NOT NULL,
  subject TEXT NOT NULL,
  body TEXT NOT NULL,
  created DOUBLE PRECISION NOT NULL,
  next_try DOUBLE PRECISION NOT NULL,
  tries INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  address TEXT,
  sent DOUBLE PRECISION,
  error TEXT
);
CREATE INDEX outbox_due ON outbox (status, next_try);
CREATE INDEX outbox_address ON outbox (address, sent) WHERE status = 'sent';
CREATE TABLE digests (period TEXT PRIMARY KEY, made DOUBLE PRECISION NOT NULL,
                      messages INTEGER NOT NULL);
CREATE TABLE state_version (one BOOLEAN PRIMARY KEY DEFAULT true CHECK (one),
                            version BIGINT NOT NULL);
INSERT INTO state_version (version) VALUES (0);
CREATE FUNCTION guarita_state_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN UPDATE state_version SET version = version + 1; RETURN NULL; END $$;
CREATE TRIGGER sessions_changed AFTER INSERT OR UPDATE OR DELETE ON sessions
  FOR EACH STATEMENT EXECUTE FUNCTION guarita_state_changed();
CREATE TRIGGER blocks_changed AFTER INSERT OR UPDATE OR DELETE ON blocks
  FOR EACH STATEMENT EXECUTE FUNCTION guarita_state_changed();
CREATE TRIGGER releases_changed AFTER INSERT OR UPDATE OR DELETE ON releases
  FOR EACH STATEMENT EXECUTE FUNCTION guarita_state_changed();
"""

# Category list files an edit or an import changed, for every node (addon/lists/shared.py)
V2 = """
CREATE TABLE list_files (
  key TEXT PRIMARY KEY,
  sha256 TEXT NOT NULL,
  content BYTEA NOT NULL,
  updated DOUBLE PRECISION NOT NULL
);
CREATE TRIGGER list_files_changed AFTER INSERT OR UPDATE OR DELETE ON list_files
  FOR EACH STATEMENT EXECUTE FUNCTION guarita_state_changed();
"""

# Console sign-ins kept on the server (addon/state/console_sessions.py): ended by signing
# out, by time, or when the person's roles change. Not part of state_version: no proxy
# decision depends on them.
V3 = """
CREATE TABLE console_sessions (
  id TEXT PRIMARY KEY,
  login TEXT NOT NULL,
  roles TEXT NOT NULL,
  csrf TEXT NOT NULL,
  created DOUBLE PRECISION NOT NULL,
  seen DOUBLE PRECISION NOT NULL,
  checked DOUBLE PRECISION NOT NULL,
  ended DOUBLE PRECISION,
  why TEXT
);
CREATE INDEX console_sessions_login ON console_sessions (login) WHERE ended IS NULL;
"""

PG_STEPS = (V1, V2, V3)
