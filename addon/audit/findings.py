"""What `audit verify` works on and finds: the seals as stored, and its report."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_PROBLEMS = 50


@dataclass
class StoredSeal:
    chain: str
    seq: int
    first_id: int
    last_id: int
    min_ts: float | None
    max_ts: float | None
    leaves: bytes | None
    root: str
    digest: str


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    records: int = 0
    seals: int = 0
    chains: int = 0
    checkpoints: int = 0
    witnessed: int = 0
    pruned: int = 0
    legacy: int = 0
    unsigned: int = 0  # records sealed after their chain's last checkpoint
    keys: set[str] = field(default_factory=set)

    @property
    def intact(self) -> bool:
        return not self.problems

    def problem(self, text: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)
