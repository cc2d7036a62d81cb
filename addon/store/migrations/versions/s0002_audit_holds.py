"""Legal holds on the audit log (issue 26): records of a person or machine kept past the
retention while a case needs them.

Revision ID: s0002
Revises: s0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s0002"
down_revision: str | Sequence[str] | None = "s0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SECONDS: sa.types.TypeEngine[float] = sa.Double().with_variant(sa.REAL(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_holds",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.Identity(),
                  primary_key=True),
        sa.Column("case_ref", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, sa.CheckConstraint("kind IN ('user', 'ip')"), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("until", SECONDS),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("operator", sa.Text, nullable=False),
        sa.Column("created", SECONDS, nullable=False),
        sa.Column("released", SECONDS),
        sa.Column("released_by", sa.Text),
    )
    op.create_index("audit_holds_open", "audit_holds", ["kind", "subject"],
                    sqlite_where=sa.text("released IS NULL"),
                    postgresql_where=sa.text("released IS NULL"))


def downgrade() -> None:
    raise NotImplementedError("guarita's schema only moves forward: restore a backup instead")
