"""Justified access (issue 27, Art. 10 §1 "exceto quando em objeto de serviço"): a person's
own statement that their work needs a site, which opens that site to them for a while.

Revision ID: s0005
Revises: s0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s0005"
down_revision: str | Sequence[str] | None = "s0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SECONDS: sa.types.TypeEngine[float] = sa.Double().with_variant(sa.REAL(), "sqlite")
ID: sa.types.TypeEngine[int] = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# every node's proxy opens the site within its next state poll (state_version)
PG_TRIGGER = ("CREATE TRIGGER justifications_changed AFTER INSERT OR UPDATE OR DELETE ON "
              "justifications FOR EACH STATEMENT EXECUTE FUNCTION guarita_state_changed()")


def upgrade() -> None:
    op.create_table(
        "justifications",
        sa.Column("id", ID, sa.Identity(), primary_key=True),
        sa.Column("login", sa.Text, nullable=False),
        sa.Column("domain", sa.Text, nullable=False),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("categories", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("ref", sa.Text),
        sa.Column("client_ip", sa.Text),
        sa.Column("start", SECONDS, nullable=False),
        sa.Column("end", SECONDS, nullable=False),
        sa.Column("revoked", SECONDS),
        sa.Column("revoked_by", sa.Text),
        sa.Column("revoke_reason", sa.Text),
        sa.Column("violation", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("justifications_login", "justifications", ["login", "start"])
    op.create_index("justifications_end", "justifications", ["end"])
    if op.get_context().dialect.name == "postgresql":
        op.execute(PG_TRIGGER)


def downgrade() -> None:
    raise NotImplementedError("guarita's schema only moves forward: restore a backup instead")
