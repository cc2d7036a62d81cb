"""The audit branch's first revision: the log of the numbered steps, or what it lacks.

Revision ID: a0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

from addon.store import baseline

revision: str = "a0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("audit",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    baseline.upgrade("audit")


def downgrade() -> None:
    raise NotImplementedError("guarita's schema only moves forward: restore a backup instead")
