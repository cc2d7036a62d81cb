"""The one schema of both engines, declared: every table, column, index and type variant
(the audit log's tables in `audit_tables.py`, the shared types in `types.py`).

This is what the migrations must produce, on SQLite and on PostgreSQL alike; a test
migrates a real database of each engine and compares it with this declaration
(`alembic.autogenerate.compare_metadata`), so a revision that forgets a column, or a
declaration that forgets a revision, fails before it ships. Types differ by engine where
the engines differ: times are SQLite REAL and PostgreSQL double precision (POSIX
seconds), ids are SQLite's rowid and PostgreSQL's identity or bigserial, the audit's
categories are JSONB on PostgreSQL. What only one engine has is marked
`info={"only": dialect}` (SQLite's `state_version` is `PRAGMA data_version`; its category
lists are files, not rows; each engine names the audit's indexes its own way).

The engine-only DDL (append-only triggers, the state-version triggers, month partitions)
lives in the revisions beside the tables they act on; the proxy never imports this
module (SQLAlchemy costs ~20 MB in every process that does).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Index,
    Integer,
    LargeBinary,
    Table,
    Text,
    text,
)

from addon.store.audit_tables import audit, audit_access, audit_checkpoints, audit_origin, audit_seals
from addon.store.types import PG, ROW_ID, SECONDS, id_column, metadata, one_of

__all__ = ["audit", "audit_access", "audit_checkpoints", "audit_origin", "audit_seals",
           "metadata", "include_for", "BRANCH_OF"]

sessions = Table(
    "sessions", metadata,
    Column("ip", Text, primary_key=True),
    Column("user", Text, nullable=False),
    Column("since", SECONDS, nullable=False),
    Column("until", SECONDS),
    Column("source", Text, nullable=False, server_default="cli"),
)

blocks = Table(
    "blocks", metadata,
    id_column(),
    Column("kind", Text, one_of("kind", "user", "machine"), nullable=False),
    Column("subject", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("operator", Text, nullable=False),
    Column("created", SECONDS, nullable=False),
    Column("lifted", SECONDS),
    Column("lifted_by", Text),
    Column("authorized_by", Text),
    Index("blocks_active", "kind", "subject", sqlite_where=text("lifted IS NULL"),
          postgresql_where=text("lifted IS NULL")),
)

releases = Table(
    "releases", metadata,
    id_column(),
    Column("kind", Text, one_of("kind", "domain", "category", "event", "level"), nullable=False),
    Column("target_kind", Text, one_of("target_kind", "user", "group", "machine"),
           nullable=False),
    Column("target", Text, nullable=False),
    Column("obj", Text, nullable=False),
    Column("start", SECONDS, nullable=False),
    Column("end", SECONDS, nullable=False),
    Column("status", Text, one_of("status", "requested", "active", "denied", "revoked",
                                   "appealed"), nullable=False),
    Column("reason", Text, nullable=False),
    Column("requested_by", Text, nullable=False),
    Column("approved_by", Text),
    Column("committee_ref", Text),
    Column("analysis_ref", Text),
    Column("extended", Integer, nullable=False, server_default="0"),
    Column("event_date", Text),
    Column("decision_note", Text),
    Column("created", SECONDS, nullable=False),
    Column("updated", SECONDS, nullable=False),
    Column("ref", Text),
    Index("releases_status", "status", "end"),
    Index("releases_ref", "ref", sqlite_where=text("ref IS NOT NULL"),
          postgresql_where=text("ref IS NOT NULL")),
)

admin_log = Table(  # append-only: a trigger on each engine refuses UPDATE and DELETE
    "admin_log", metadata,
    id_column(),
    Column("at", SECONDS, nullable=False),
    Column("operator", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("before", Text),
    Column("after", Text),
)

outbox = Table(
    "outbox", metadata,
    id_column(),
    Column("key", Text, nullable=False, unique=True),
    Column("kind", Text, nullable=False),
    Column("to_kind", Text, one_of("to_kind", "user", "committee", "address"), nullable=False),
    Column("to_value", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("created", SECONDS, nullable=False),
    Column("next_try", SECONDS, nullable=False),
    Column("tries", Integer, nullable=False, server_default="0"),
    Column("status", Text, one_of("status", "pending", "sent", "failed"), nullable=False,
           server_default="pending"),
    Column("address", Text),
    Column("sent", SECONDS),
    Column("error", Text),
    Index("outbox_due", "status", "next_try"),
    Index("outbox_address", "address", "sent", sqlite_where=text("status = 'sent'"),
          postgresql_where=text("status = 'sent'")),
)

digests = Table(
    "digests", metadata,
    Column("period", Text, primary_key=True),
    Column("made", SECONDS, nullable=False),
    Column("messages", Integer, nullable=False),
)

console_sessions = Table(
    "console_sessions", metadata,
    Column("id", Text, primary_key=True),
    Column("login", Text, nullable=False),
    Column("roles", Text, nullable=False),
    Column("csrf", Text, nullable=False),
    Column("created", SECONDS, nullable=False),
    Column("seen", SECONDS, nullable=False),
    Column("checked", SECONDS, nullable=False),
    Column("ended", SECONDS),
    Column("why", Text),
    Column("stamp", Text),  # the directory's password stamp at sign-in (None: not known)
    Index("console_sessions_login", "login", sqlite_where=text("ended IS NULL"),
          postgresql_where=text("ended IS NULL")),
)

audit_holds = Table(  # legal holds: records kept past the retention for a case (state/holds.py)
    "audit_holds", metadata,
    id_column(),
    Column("case_ref", Text, nullable=False),
    Column("kind", Text, one_of("kind", "user", "ip"), nullable=False),
    Column("subject", Text, nullable=False),
    Column("until", SECONDS),
    Column("reason", Text, nullable=False),
    Column("operator", Text, nullable=False),
    Column("created", SECONDS, nullable=False),
    Column("released", SECONDS),
    Column("released_by", Text),
    Index("audit_holds_open", "kind", "subject", sqlite_where=text("released IS NULL"),
          postgresql_where=text("released IS NULL")),
)

forward_positions = Table(  # how far each SIEM target has received (addon/forward/)
    "forward_positions", metadata,
    Column("target", Text, primary_key=True),
    Column("audit_id", ROW_ID, nullable=False),
    Column("admin_id", ROW_ID, nullable=False),
    Column("updated", SECONDS, nullable=False),
)

justifications = Table(  # a person's own "needed for work" (state/justifications.py)
    "justifications", metadata,
    id_column(),
    Column("login", Text, nullable=False),
    Column("domain", Text, nullable=False),
    Column("host", Text, nullable=False),
    Column("categories", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("ref", Text),
    Column("client_ip", Text),
    Column("start", SECONDS, nullable=False),
    Column("end", SECONDS, nullable=False),
    Column("revoked", SECONDS),
    Column("revoked_by", Text),
    Column("revoke_reason", Text),
    Column("violation", Integer, nullable=False, server_default="0"),  # 1: counted as one
    Index("justifications_login", "login", "start"),
    Index("justifications_end", "end"),
)

explanations = Table(  # a person's word on a violation counted against them; append-only
    "explanations", metadata,
    id_column(),
    Column("login", Text, nullable=False),
    Column("ref", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("at", SECONDS, nullable=False),
    Index("explanations_login", "login", "ref"),
)

list_files = Table(  # category lists shared by every node of a cluster (addon/lists/shared.py)
    "list_files", metadata,
    Column("key", Text, primary_key=True),
    Column("sha256", Text, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("updated", SECONDS, nullable=False),
    info=PG,
)

state_version = Table(  # bumped by triggers; what each node's reloader polls
    "state_version", metadata,
    Column("one", Boolean, CheckConstraint("one"), primary_key=True, server_default=text("true")),
    Column("version", BigInteger, nullable=False),
    info=PG,
)

AUDIT_BRANCH = frozenset({"audit", "audit_seals", "audit_checkpoints", "audit_origin"})
BRANCH_OF = {table.name: ("audit" if table.name in AUDIT_BRANCH else "state")
             for table in metadata.tables.values()}

# What a database holds besides the declared tables: the audit's month partitions, the old
# step counter, `db copy`'s progress, Alembic's own table, SQLite's view for Datasette.
_UNDECLARED = re.compile(r"audit_\d{4}_\d{2}|audit_other|audit_local|guarita_schema|guarita_copy"
                         r"|guarita_alembic_version")


def include_for(dialect: str, branches: frozenset[str] = frozenset({"state", "audit"})
                ) -> Any:
    """Alembic's `include_object` for one engine and the branches its database holds."""

    def include(obj: Any, name: str | None, kind: str, reflected: bool, compare_to: Any) -> bool:
        if kind == "table":
            if name is not None and _UNDECLARED.fullmatch(name):
                return False
            if not reflected and BRANCH_OF.get(str(name)) not in branches:
                return False
        declared = obj if not reflected else compare_to
        only = getattr(declared, "info", {}).get("only") if declared is not None else None
        table = getattr(declared, "table", None)
        if only is None and table is not None:
            only = table.info.get("only")
        return only in (None, dialect)

    return include
