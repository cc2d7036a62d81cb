"""Justified access (issue 27, Art. 10 §1 "exceto quando em objeto de serviço"): a person's
own statement that their work needs a site, which opens that site to them for a while; and
a person's explanations of the violations counted against them, which their chief reads
beside each (append-only).

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

PG_APPEND_ONLY = ("CREATE TRIGGER explanations_append_only BEFORE UPDATE OR DELETE ON "
                  "explanations FOR EACH ROW EXECUTE FUNCTION guarita_append_only()")
SQLITE_APPEND_ONLY = (
    "CREATE TRIGGER explanations_no_update BEFORE UPDATE ON explanations "
    "BEGIN SELECT RAISE(ABORT, 'explanations are append-only'); END",
    "CREATE TRIGGER explanations_no_delete BEFORE DELETE ON explanations "
    "BEGIN SELECT RAISE(ABORT, 'explanations are append-only'); END",
)


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
    op.create_table(
        "explanations",
        sa.Column("id", ID, sa.Identity(), primary_key=True),
        sa.Column("login", sa.Text, nullable=False),
        sa.Column("ref", sa.Text, nullable=False),  # the attempt's first record's reference
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("at", SECONDS, nullable=False),
    )
    op.create_index("explanations_login", "explanations", ["login", "ref"])
    if op.get_context().dialect.name == "postgresql":
        op.execute(PG_TRIGGER)
        op.execute(PG_APPEND_ONLY)
    else:
        for statement in SQLITE_APPEND_ONLY:
            op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("guarita's schema only moves forward: restore a backup instead")
