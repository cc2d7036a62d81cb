"""Art. 19 violations, counted one way for every door: the console, the CLI and the digests.

A violation is counted in **attempts**, not records. One visit to a blocked site in a
browser makes 2 to about 10 block records (retries, prefetch, the favicon), so counting
records told a chief that someone who tried nine times had tried 38. An attempt is a
person on one site within a window (the policy's `violations.window_minutes`, shipped 10):
the first refusal opens it, every refusal of the same person and host until the window
after it has passed belongs to it, and the next one opens another. Each attempt keeps the
records behind it (their count, their references), so whoever reads a count can see what
it is made of.

Which refusals count is the policy's `violations.rules` (`ViolationRule.counts`), with the
number of attempts that makes each one reportable; the grouping is a pure function, read
from the audit log by one query shared by both engines.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from operator import itemgetter
from typing import Any, NamedTuple

from addon.audit.query import Filters
from addon.policy.hosts import within
from addon.policy.notify_settings import ViolationRule
from addon.store import dialect
from addon.store.seam import Connection

MAX_REFS = 20  # references kept per attempt (a runaway client makes thousands of records)


class Refusal(NamedTuple):
    """One block record of the audit log, as counting needs it (a tuple: a week of
    everyone's refusals is some 200,000 of them)."""

    ts: float
    user: str
    host: str
    rule: str
    categories: tuple[str, ...]
    ref: str


class Justified(NamedTuple):
    """A justification (Art. 10 §1, addon/state/justifications.py), as counting needs it."""

    id: int
    user: str
    domain: str  # the site it opened, with its subdomains
    start: float
    categories: tuple[str, ...]
    violation: bool  # revoked by a chief and counted as a violation, with a reason

    def covers(self, host: str) -> bool:
        return within(host, self.domain)


JUSTIFIED_VIOLATION = "justified.violation"  # the rule such a justification counts under


class Attempt(NamedTuple):
    """A person on one site within one window: the records behind one attempt."""

    user: str
    host: str
    rule: str
    categories: tuple[str, ...]
    first: float
    last: float
    records: int
    refs: tuple[str, ...]


@dataclass(frozen=True)
class Violation:
    """One person's attempts that one of the policy's rules counts, in one period."""

    user: str
    rule: ViolationRule
    attempts: tuple[Attempt, ...]

    @property
    def count(self) -> int:
        return len(self.attempts)

    @property
    def reached(self) -> bool:
        """Enough attempts for the rule to report it (`attempts` in the policy)."""
        return self.count >= self.rule.attempts

    @property
    def hosts(self) -> list[str]:
        return list(dict.fromkeys(a.host for a in self.attempts))

    @property
    def records(self) -> int:
        return sum(a.records for a in self.attempts)


def attempts(refusals: Iterable[Refusal], window: float) -> list[Attempt]:
    """The refusals grouped into attempts (any order in, by first time out): one pass over
    them sorted by person, site and time."""
    out: list[Attempt] = []
    add = out.append
    group: list[Refusal] = []
    user = host = None
    end = 0.0
    for r in sorted(refusals, key=_BY_SITE):  # by index, not name: ~200,000 turns
        if r[0] >= end or r[2] != host or r[1] != user:
            if group:
                add(_attempt(group))
            group, user, host, end = [r], r[1], r[2], r[0] + window
        else:
            group.append(r)
    if group:
        add(_attempt(group))
    out.sort(key=_BY_TIME)
    return out


_BY_SITE = itemgetter(1, 2, 0)  # user, host, ts
_BY_TIME = itemgetter(4, 0, 1)  # first, user, host


def _attempt(group: list[Refusal]) -> Attempt:
    first = group[0]
    if len(group) == 1:
        ts, user, host, rule, categories, ref = first
        return Attempt(user, host, rule, categories, ts, ts, 1, (ref,))
    categories = tuple(dict.fromkeys(c for r in group for c in r.categories))
    rules = [r.rule for r in group]
    return Attempt(first.user, first.host, max(set(rules), key=rules.count), categories,
                   first.ts, group[-1].ts, len(group), tuple(r.ref for r in group[:MAX_REFS]))


def tally(found: Iterable[Attempt], rules: Iterable[ViolationRule]) -> list[Violation]:
    """Per person and rule, the attempts the rule counts (most attempts first)."""
    found = list(found)
    out: list[Violation] = []
    for rule in rules:
        mine: dict[str, list[Attempt]] = defaultdict(list)
        counts: dict[tuple[str, tuple[str, ...]], bool] = {}  # few kinds, many attempts
        for a in found:
            kind = (a.rule, a.categories)
            if kind not in counts:
                counts[kind] = rule.counts(a.rule, list(a.categories))
            if counts[kind]:
                mine[a.user].append(a)
        out.extend(Violation(user, rule, tuple(items)) for user, items in mine.items())
    out.sort(key=lambda v: (-v.count, v.user, v.rule.name))
    return out


def read(conn: Connection, f: Filters, rules: Iterable[ViolationRule]) -> list[Refusal]:
    """The refusals `f` selects that any of `rules` could count (one query, either engine)."""
    wanted = tuple(sorted({r for rule in rules for r in rule.rules}))
    if not wanted:
        return []
    where, args = replace(f, rules=wanted, decision="block").where(dialect(conn))
    sql = f'SELECT ts, "user", host, rule, categories, ref FROM audit{where}'  # noqa: S608
    parsed: dict[str | None, tuple[str, ...]] = {None: (), "": ()}  # the same lists recur
    out = []
    for ts, user, host, rule, cats, ref in conn.execute(sql, args):
        if not user:
            continue
        if cats not in parsed:
            parsed[cats] = tuple(json.loads(cats))
        out.append(Refusal(float(ts), user, host or "", rule, parsed[cats], ref or ""))
    return out


def answered(found: Iterable[Attempt], justified: Iterable[Justified],
             window: float) -> list[Attempt]:
    """The attempts no justification answered: a person blocked on a site who justified it
    within the window (the block page's form, the console) made no violation by asking;
    a justification a chief counted as one is an attempt of its own, under
    `justified.violation`."""
    mine: dict[str, list[Justified]] = defaultdict(list)
    out: list[Attempt] = []
    for j in justified:
        mine[j.user].append(j)
        if j.violation:
            out.append(Attempt(j.user, j.domain, JUSTIFIED_VIOLATION, j.categories, j.start,
                               j.start, 1, (f"justificativa {j.id}",)))
    for a in found:
        if not any(j.covers(a.host) and a.first <= j.start <= a.last + window
                   for j in mine.get(a.user, ())):
            out.append(a)
    out.sort(key=_BY_TIME)
    return out


def count(conn: Connection, f: Filters, rules: tuple[ViolationRule, ...],
          window: float, justified: Iterable[Justified] = ()) -> list[Violation]:
    """Every door's count: the refusals `f` selects, in attempts, per person and rule, less
    those a justification answered, plus the justifications counted as violations."""
    return tally(answered(attempts(read(conn, f, rules), window), justified, window), rules)


def per_person(found: Iterable[Violation]) -> list[dict[str, Any]]:
    """One row per person: their distinct attempts under any rule, and what they are."""
    people: dict[str, dict[Attempt, None]] = defaultdict(dict)
    rules: dict[str, list[str]] = defaultdict(list)
    for v in found:
        people[v.user].update(dict.fromkeys(v.attempts))
        rules[v.user].append(f"{v.rule.name} ({v.count}/{v.rule.attempts})")
    rows: list[dict[str, Any]] = []
    for user, mine in people.items():
        items = sorted(mine, key=lambda a: a.first)
        rows.append({
            "user": user, "attempts": len(items), "records": sum(a.records for a in items),
            "first": items[0].first, "last": max(a.last for a in items),
            "categories": ",".join(dict.fromkeys(c for a in items for c in a.categories)),
            "hosts": len({a.host for a in items}), "rules": ", ".join(rules[user]),
            "detail": items})
    rows.sort(key=lambda r: (-int(r["attempts"]), str(r["user"])))
    return rows


def by_unit(rows: list[dict[str, Any]], unit_of: Callable[[str], str | None]
            ) -> list[dict[str, Any]]:
    """Art. 19 II: `per_person` rows summed per unit (the immediate chief who answers for
    the person, as the directory says); people the directory gives no chief are one unit."""
    units: dict[str, dict[str, Any]] = {}
    for r in rows:
        unit = unit_of(r["user"]) or "" if r["user"] else ""
        u = units.setdefault(unit, {"unit": unit, "people": 0, "attempts": 0, "users": []})
        u["people"] += 1
        u["attempts"] += r["attempts"]
        u["users"].append(r["user"] or "")
    return sorted(units.values(), key=lambda u: (-u["attempts"], u["unit"]))
