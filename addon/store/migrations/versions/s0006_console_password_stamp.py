"""A console session remembers what the directory said of its person's password when they
signed in, so a changed password ends it at the next check (issue 24).

Revision ID: s0006
Revises: s0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s0006"
down_revision: str | Sequence[str] | None = "s0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("console_sessions") as batch:
        batch.add_column(sa.Column("stamp", sa.Text))


def downgrade() -> None:
    raise NotImplementedError("guarita's schema only moves forward: restore a backup instead")
