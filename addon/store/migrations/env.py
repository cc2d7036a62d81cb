"""Alembic's environment for guarita: always on a connection guarita opened (never a URL
from alembic.ini), one transaction for the whole upgrade, taken under each engine's lock.

SQLite takes its write lock at BEGIN IMMEDIATE (the engine's `begin` hook) and PostgreSQL an
advisory lock here: of several nodes starting at once one migrates and the others find the
work done. Batch mode lets the same revision alter a SQLite table (which has no ALTER for
most changes) and a PostgreSQL one.
"""

from __future__ import annotations

from alembic import context

from addon.store.tables import include_for, metadata

connection = context.config.attributes["connection"]
branches = context.config.attributes.get("branches", frozenset({"state", "audit"}))
context.configure(connection=connection, target_metadata=metadata, transactional_ddl=True,
                  render_as_batch=True, version_table="guarita_alembic_version",
                  include_object=include_for(connection.dialect.name, branches))
with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(4242)")
    context.run_migrations()
