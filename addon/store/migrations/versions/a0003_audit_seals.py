"""Tamper evidence (issue 26): a seal per committed batch, signed checkpoints and pruning
statements, and the last record written before the chain existed (addon/audit/seal.py).

Revision ID: a0003
Revises: a0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a0003"
down_revision: str | Sequence[str] | None = "a0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SECONDS: sa.types.TypeEngine[float] = sa.Double().with_variant(sa.REAL(), "sqlite")
ID: sa.types.TypeEngine[int] = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_seals",
        sa.Column("id", ID, sa.Identity(), primary_key=True),
        sa.Column("chain", sa.Text, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("first_id", sa.BigInteger, nullable=False),
        sa.Column("last_id", sa.BigInteger, nullable=False),
        sa.Column("min_ts", SECONDS),
        sa.Column("max_ts", SECONDS),
        sa.Column("leaves", sa.LargeBinary),
        sa.Column("root", sa.Text, nullable=False),
        sa.Column("digest", sa.Text, nullable=False),
    )
    op.create_index("audit_seals_chain", "audit_seals", ["chain", "seq"], unique=True)
    op.create_index("audit_seals_first", "audit_seals", ["first_id"])
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", ID, sa.Identity(), primary_key=True),
        sa.Column("kind", sa.Text, sa.CheckConstraint("kind IN ('checkpoint', 'prune')"),
                  nullable=False),
        sa.Column("chain", sa.Text, nullable=False),
        sa.Column("seq", sa.BigInteger),
        sa.Column("ts", SECONDS, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("public_key", sa.Text, nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
    )
    op.create_index("audit_checkpoints_chain", "audit_checkpoints", ["chain", "seq"])
    op.create_table(
        "audit_origin",
        sa.Column("legacy_max_id", sa.BigInteger, primary_key=True, autoincrement=False),
    )
    # records already there were written before seals existed: verify says they cannot be
    # proven, rather than calling them inserted
    op.execute("INSERT INTO audit_origin (legacy_max_id) SELECT coalesce(max(id), 0) FROM audit")


def downgrade() -> None:
    raise NotImplementedError("guarita's schema only moves forward: restore a backup instead")
