"""Which schema revision a database is at, read with the plain driver (no SQLAlchemy, no
Alembic: the proxy checks its databases at start and must not carry ~20 MB for it).

`KNOWN` lists each branch's revisions in order, the last its head; a test holds it equal to
the Alembic history in addon/store/migrations/versions/. A revision not listed is a newer
guarita's, and refused rather than written with an older idea of the columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KNOWN: dict[str, tuple[str, ...]] = {
    "state": ("s0001", "s0002", "s0003", "s0004", "s0005", "s0006"),
    "audit": ("a0001", "a0002", "a0003"),
}
VERSION_TABLE = "guarita_alembic_version"


def head(branch: str) -> str:
    return KNOWN[branch][-1]


@dataclass(frozen=True)
class Standing:
    """Where one branch of a database stands: `at` is its revision, None before any."""

    branch: str
    at: str | None

    @property
    def current(self) -> bool:
        return self.at == head(self.branch)

    @property
    def newer(self) -> bool:
        return self.at is not None and self.at not in KNOWN[self.branch]

    @property
    def behind(self) -> int:
        """How many revisions it lacks (0 when current or newer)."""
        if self.newer:
            return 0
        done = 0 if self.at is None else KNOWN[self.branch].index(self.at) + 1
        return len(KNOWN[self.branch]) - done


def standing(found: set[str], branch: str) -> Standing:
    """The branch's revision among the version rows `found` (one row per branch head)."""
    mine = [r for r in found if r in KNOWN[branch]]
    if mine:
        return Standing(branch, max(mine, key=KNOWN[branch].index))
    prefix = branch[0]
    strangers = sorted(r for r in found if r.startswith(prefix) and r not in KNOWN[branch])
    return Standing(branch, strangers[0] if strangers else None)


def read_sqlite(raw: Any) -> set[str]:
    """The version rows of a sqlite3 connection (empty before the first revision)."""
    exists = raw.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                         (VERSION_TABLE,)).fetchone()
    if not exists:
        return set()
    return {str(r[0]) for r in raw.execute(f"SELECT version_num FROM {VERSION_TABLE}")}  # noqa: S608


def read_pg(raw: Any) -> set[str]:
    """The version rows of a PostgreSQL connection (the sqlite3-mannered adapter or psycopg)."""
    row = raw.execute(f"SELECT to_regclass('{VERSION_TABLE}') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return set()
    return {str(r[0]) for r in raw.execute(f"SELECT version_num FROM {VERSION_TABLE}")}  # noqa: S608
