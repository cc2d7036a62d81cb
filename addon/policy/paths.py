"""Where a node keeps its files and, when nodes share one, its database's URL.

Apart from the policy's value objects so the storage layer can name its files without
loading the policy stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

STATE_FILE = "state.db"  # the embedded state database, in the state folder


@dataclass(frozen=True)
class Paths:
    category_dirs: tuple[Path, ...]
    imported_dir: Path
    state_dir: Path
    database: str = ""  # a postgresql:// URL shared by every node; empty: SQLite files here

    @property
    def index_file(self) -> Path:
        return self.state_dir / "categories.idx"

    @property
    def state_file(self) -> Path:
        """The embedded state database (when no `database` is set)."""
        return self.state_dir / STATE_FILE

    @property
    def audit_file(self) -> Path:
        return self.state_dir / "audit.db"

    @property
    def audit_target(self) -> Path | str:
        """Where the audit log is: the shared database's URL, or the SQLite file."""
        return self.database or self.audit_file

    @property
    def exceptions_dir(self) -> Path:
        """Entries IT removed from imported lists (`<category>/domains`): kept apart from
        them, so a re-import never brings one back."""
        return self.state_dir / "exceptions"

    @property
    def sources(self) -> list[Path]:
        """Curated lists first, imported ones after; for the same entry, curated ones win."""
        return [*self.category_dirs, self.imported_dir]

    @property
    def watched(self) -> list[Path]:
        """Everything whose change means a new category index."""
        return [*self.sources, self.exceptions_dir]
