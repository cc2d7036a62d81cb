"""`audit verify`'s third pass: the records, in id order, against the leaves of their seals.

A record that hashes to its own leaf is intact; to another leaf of its seal, reordered; to
none, modified. A leaf left without its record is pruned when its time is before a signed
cut-off, deleted otherwise; a record no seal covers was inserted, unless it was written
before seals existed.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from typing import Any

from addon.audit import seal
from addon.audit.findings import Report, StoredSeal


def leaf_of_row(row: Sequence[object]) -> bytes:
    """The hash a stored record (without its id) must have."""
    return hashlib.sha256(seal.canonical(seal.stored_fields(row))).digest()


class _Walk:
    """Pass 3's position: the seal the records being read belong to, and what was seen of it."""

    def __init__(self, cutoff: float, report: Report) -> None:
        self.cutoff, self.report = cutoff, report
        self.seal: StoredSeal | None = None
        self.leaves: list[tuple[float, bytes]] = []
        self.by_hash: dict[bytes, int] = {}
        self.seen: set[int] = set()

    def enter(self, s: StoredSeal) -> None:
        self.close()
        self.seal, self.seen = s, set()
        self.leaves = seal.unpack(s.leaves) if s.leaves is not None else []
        self.by_hash = {h: s.first_id + k for k, (_, h) in enumerate(self.leaves)}

    def close(self) -> None:
        """Every leaf of the seal left without its record: pruned, or deleted."""
        s, self.seal = self.seal, None
        if s is None:
            return
        for k, (ts, _) in enumerate(self.leaves):
            rid = s.first_id + k
            if rid in self.seen:
                continue
            if not math.isnan(ts) and ts < self.cutoff:
                self.report.pruned += 1
            else:
                self.report.problem(f"record {rid}: deleted (chain {s.chain}, seal {s.seq})")

    def record(self, rid: int, row: Sequence[Any]) -> None:
        s = self.seal
        assert s is not None
        if s.leaves is None:
            self.report.problem(f"record {rid}: inserted (its seal's records were all pruned)")
            return
        self.seen.add(rid)
        got = leaf_of_row(row)
        if got == self.leaves[rid - s.first_id][1]:
            return
        other = self.by_hash.get(got)
        if other is not None:
            self.report.problem(f"record {rid}: reordered (it holds what was written as "
                                f"record {other})")
        else:
            self.report.problem(f"record {rid}: modified (chain {s.chain}, seal {s.seq})")


def check_records(rows: Iterable[Sequence[Any]], seals: Sequence[StoredSeal], legacy_max: int,
                  cutoff: float, report: Report) -> None:
    """Pass 3 over records in id order (`rows`: id first) against the seals of their ids."""
    ordered = sorted(seals, key=lambda s: (s.first_id, s.seq))
    walk = _Walk(cutoff, report)
    i = 0
    for row in rows:
        rid = int(row[0])
        report.records += 1
        while i < len(ordered) and ordered[i].last_id < rid:
            if walk.seal is not ordered[i]:
                walk.enter(ordered[i])  # a seal none of whose records is left
            walk.close()
            i += 1
        s = ordered[i] if i < len(ordered) and ordered[i].first_id <= rid else None
        if s is None:
            if rid <= legacy_max:
                report.legacy += 1
            else:
                report.problem(f"record {rid}: inserted (no seal covers it)")
            continue
        if walk.seal is not s:
            walk.enter(s)
        walk.record(rid, row[1:])
    for s in ordered[i:]:
        if walk.seal is not s:
            walk.enter(s)
        walk.close()
    for s in ordered:
        if s.leaves is None and s.max_ts is not None and s.max_ts < cutoff:
            report.pruned += s.last_id - s.first_id + 1
        elif s.leaves is None:
            report.problem(f"chain {s.chain}, seal {s.seq}: its records' leaves were removed "
                           "but no signed pruning covers them")
