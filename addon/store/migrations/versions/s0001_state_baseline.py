"""The state branch's first revision: every table of the numbered steps, or what lacks.

Revision ID: s0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

from addon.store import baseline

revision: str = "s0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("state",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    baseline.upgrade("state")


def downgrade() -> None:
    raise NotImplementedError("guarita's schema only moves forward: restore a backup instead")
