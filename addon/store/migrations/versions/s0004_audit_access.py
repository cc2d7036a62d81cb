"""Who read whose audit records (issue 26, Decreto 8.771/2016 art. 13): an append-only,
chained access log in the state database (addon/audit/access.py).

Revision ID: s0004
Revises: s0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s0004"
down_revision: str | Sequence[str] | None = "s0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SECONDS: sa.types.TypeEngine[float] = sa.Double().with_variant(sa.REAL(), "sqlite")
ID: sa.types.TypeEngine[int] = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_access_no_update BEFORE UPDATE ON audit_access "
    "BEGIN SELECT RAISE(ABORT, 'the audit access log is append-only'); END",
    "CREATE TRIGGER audit_access_no_delete BEFORE DELETE ON audit_access "
    "BEGIN SELECT RAISE(ABORT, 'the audit access log is append-only'); END",
)
PG_TRIGGER = ("CREATE TRIGGER audit_access_append_only BEFORE UPDATE OR DELETE ON audit_access "
              "FOR EACH ROW EXECUTE FUNCTION guarita_append_only()")


def upgrade() -> None:
    op.create_table(
        "audit_access",
        sa.Column("id", ID, sa.Identity(), primary_key=True),
        sa.Column("at", SECONDS, nullable=False),
        sa.Column("reader", sa.Text, nullable=False),
        sa.Column("door", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("subject_user", sa.Text),
        sa.Column("subject_ip", sa.Text),
        sa.Column("filters", sa.Text, nullable=False),
        sa.Column("purpose", sa.Text),
        sa.Column("case_ref", sa.Text),
        sa.Column("digest", sa.Text, nullable=False),
    )
    op.create_index("audit_access_at", "audit_access", ["at"])
    op.create_index("audit_access_user", "audit_access", ["subject_user", "at"])
    if op.get_context().dialect.name == "postgresql":
        op.execute(PG_TRIGGER)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("guarita's schema only moves forward: restore a backup instead")
