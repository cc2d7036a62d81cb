"""Where each SIEM target's forwarding stands (issue 29): the last audit record and the
last admin operation it has received, so a restart resumes instead of resending or skipping.

Revision ID: s0003
Revises: s0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s0003"
down_revision: str | Sequence[str] | None = "s0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SECONDS: sa.types.TypeEngine[float] = sa.Double().with_variant(sa.REAL(), "sqlite")
ID: sa.types.TypeEngine[int] = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "forward_positions",
        sa.Column("target", sa.Text, primary_key=True),
        sa.Column("audit_id", ID, nullable=False),
        sa.Column("admin_id", ID, nullable=False),
        sa.Column("updated", SECONDS, nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("guarita's schema only moves forward: restore a backup instead")
