"""PostgreSQL's audit log indexed by id (issue 29): forwarding reads the records after a
position, which on a partitioned table without it is a scan of every month at every round.
SQLite's id is the rowid, indexed already.

Revision ID: a0002
Revises: a0001
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "a0002"
down_revision: str | Sequence[str] | None = "a0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.create_index("audit_id", "audit", ["id"])  # on the parent: every month gets it


def downgrade() -> None:
    raise NotImplementedError("guarita's schema only moves forward: restore a backup instead")
