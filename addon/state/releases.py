"""Releases (Art. 9 §10–11; seed 000): temporary and level-4 grants, with their limits.

A release widens access for a target (user, group, machine) to an object (a
domain, a category, a web-conference platform's category, or level 4) between
a start and an end. IT's grants, extensions and revocations live here, with the
rules every release obeys (`check_object`); requests that become releases only
when approved are `addon.state.requests`. Every step is one transaction with its
admin-history entry.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from addon.errors import GuaritaError, ReleaseError
from addon.policy.hosts import canonical_ip, normalize_host
from addon.policy.model import Policy, Release
from addon.state import history
from addon.store.seam import Connection, Row, insert_returning_id, quoted

DAY = 86400.0
TargetKind = Literal["user", "group", "machine"]


@dataclass(frozen=True)
class Target:
    kind: TargetKind
    value: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


def parse_target(text: str) -> Target:
    kind, sep, value = text.partition(":")
    value = value.strip()
    if not sep or kind not in ("user", "group", "machine") or not value:
        raise ReleaseError(f"invalid target {text!r}: use user:LOGIN, group:NAME or machine:IP")
    if kind == "machine":
        value = canonical_ip(value)
    elif kind == "user":
        value = value.lower()
    else:
        value = value.casefold()  # directory group names compare case-insensitively
    return Target(kind, value)  # type: ignore[arg-type]


def fetch(conn: Connection, rid: int) -> Row:
    row = conn.execute("SELECT * FROM releases WHERE id = ?", (rid,)).fetchone()
    if row is None:
        raise ReleaseError(f"no release #{rid}")
    return row


def insert(conn: Connection, operator: str, action: str, **fields: object) -> int:
    now = time.time()
    fields.setdefault("created", now)
    fields.setdefault("updated", now)
    cols = ", ".join(map(quoted, fields))
    marks = ", ".join("?" for _ in fields)
    rid = insert_returning_id(conn, f"INSERT INTO releases ({cols}) VALUES ({marks})",  # noqa: S608
                              tuple(fields.values()))
    history.record(conn, operator, action, f"release #{rid}", None, fields)
    return rid


def update(conn: Connection, operator: str, action: str, row: Row,
            note: dict[str, object] | None = None, **fields: object) -> None:
    """Change a release's columns; `note` is recorded in the history beside them (what a
    person said that is no column of its own, such as an appeal's reason)."""
    fields["updated"] = time.time()
    sets = ", ".join(f"{quoted(k)} = ?" for k in fields)
    conn.execute(f"UPDATE releases SET {sets} WHERE id = ?",  # noqa: S608
                 (*fields.values(), row["id"]))
    before = {k: row[k] for k in fields if k in row.keys()}
    history.record(conn, operator, action, f"release #{row['id']}", before,
                   {**fields, **(note or {})})


def check_days(policy: Policy, days: float, committee_ref: str | None, what: str,
               limit: int) -> None:
    if days <= 0:
        raise ReleaseError(f"{what}: --days must be positive")
    if days > limit and not committee_ref:
        raise ReleaseError(
            f"{what} of {days:g} days exceeds {limit} days without the committee "
            "(Art. 9 §10): give --committee-ref REF"
        )


def check_object(policy: Policy, obj: str, categories: tuple[str, ...],
                 analysis_ref: str | None) -> None:
    """What no temporary release may open, whoever grants or approves it.

    A web-conference platform other than the homologated one opens only for one event
    (seed 000 items 1–2: no permanent release); a malicious site only with the technical
    analysis that cleared it (Art. 9 §11).
    """
    platforms = [p.label for c in categories if (p := policy.platform_of_category(c))]
    if platforms:
        raise ReleaseError(
            f"{obj} is a web-conference platform ({', '.join(platforms)}): it is released only "
            "for one event's date and time, never for days (seed 000 items 1–2); use "
            "guarita release event",
            f"{obj} é uma plataforma de videoconferência: é liberada só para o dia e o horário "
            "de um evento, nunca por dias (peça a liberação do evento)."
        )
    if any(c in policy.malicious for c in categories) and not analysis_ref:
        raise ReleaseError(
            f"{obj} is malicious: a release needs --analysis-ref REF, the technical analysis "
            "that cleared it (Art. 9 §11)",
            f"{obj} está classificado como malicioso: a aprovação precisa da referência da "
            "análise técnica que o liberou (Art. 9 §11)."
        )


def grant(conn: Connection, policy: Policy, target: Target, *, domain: str | None,
          category: str | None, start: float | None, days: float, reason: str,
          operator: str, committee_ref: str | None = None, analysis_ref: str | None = None,
          domain_categories: tuple[str, ...] = ()) -> int:
    """A temporary release (Art. 9 §10) of a domain (classified as `domain_categories`)
    or a category; never a web-conference platform, malicious only with an analysis."""
    if (domain is None) == (category is None):
        raise ReleaseError("give exactly one of --domain or --category")
    if not reason.strip():
        raise ReleaseError("a release needs a --reason")
    check_days(policy, days, committee_ref, "a release", policy.release_max_days)
    cats: tuple[str, ...]
    if category is not None:
        if category not in policy.category_labels:
            raise ReleaseError(f"unknown category {category!r}")
        kind, obj, cats = "category", category, (category,)
    else:
        try:
            obj = normalize_host(domain or "")
        except GuaritaError as exc:
            raise ReleaseError(f"invalid --domain: {exc}") from exc
        kind, cats = "domain", domain_categories
    check_object(policy, obj, cats, analysis_ref)
    now = time.time()
    start = now if start is None else start
    if start + days * DAY <= now:
        raise ReleaseError("the release would end in the past")
    with conn:
        return insert(
            conn, operator, "release.grant", kind=kind, target_kind=target.kind,
            target=target.value, obj=obj, start=start, end=start + days * DAY, status="active",
            reason=reason, requested_by=operator, approved_by=operator,
            committee_ref=committee_ref, analysis_ref=analysis_ref,
        )


def extend(conn: Connection, policy: Policy, rid: int, days: float, operator: str,
           committee_ref: str | None = None) -> float:
    """Extend once by at most a week (Art. 9 §10); beyond, the committee decides."""
    with conn:
        row = fetch(conn, rid)
        if row["status"] != "active" or row["kind"] not in ("domain", "category"):
            raise ReleaseError(f"release #{rid} is not an active temporary release")
        if row["end"] <= time.time():
            raise ReleaseError(f"release #{rid} has already ended")
        if row["extended"] and not committee_ref:
            raise ReleaseError(
                f"release #{rid} was already extended once: a second extension needs "
                "--committee-ref REF (Art. 9 §10)"
            )
        check_days(policy, days, committee_ref, "an extension", policy.release_max_extension_days)
        end = row["end"] + days * DAY
        update(conn, operator, "release.extend", row, end=end, extended=row["extended"] + 1,
                committee_ref=committee_ref or row["committee_ref"])
        return float(end)


def revoke(conn: Connection, rid: int, reason: str, operator: str) -> None:
    with conn:
        row = fetch(conn, rid)
        if row["status"] not in ("active", "requested", "appealed"):
            raise ReleaseError(f"release #{rid} is {row['status']}: nothing to revoke")
        update(conn, operator, "release.revoke", row, status="revoked",
                end=min(row["end"], time.time()), decision_note=reason)


def grant_level4(conn: Connection, user: str, until: float, committee_ref: str,
                 reason: str, operator: str) -> int:
    """Art. 9 §4 V: level 4 by explicit committee authorisation, always with an end."""
    if not committee_ref:
        raise ReleaseError("level 4 needs --committee-ref REF (Art. 9 §4 V)",
                           "O nível 4 precisa da decisão do Comitê (Art. 9 §4 V).")
    now = time.time()
    if until <= now:
        raise ReleaseError("level 4 must end in the future",
                           "O nível 4 deve terminar numa data futura.")
    with conn:
        return insert(
            conn, operator, "release.level4", kind="level", target_kind="user",
            target=user.lower(), obj="4", start=now, end=until, status="active", reason=reason,
            requested_by=operator, approved_by=operator, committee_ref=committee_ref,
        )


def listing(conn: Connection, active_only: bool = False, target: Target | None = None,
            statuses: tuple[str, ...] | None = None, now: float | None = None,
            ref: str | None = None) -> list[Row]:
    now = time.time() if now is None else now
    where: list[str] = []
    args: list[object] = []
    if active_only:
        where.append("status = 'active' AND \"end\" > ?")
        args.append(now)
    if statuses:
        where.append("status IN ({})".format(",".join("?" for _ in statuses)))
        args.extend(statuses)
    if target is not None:
        where.append("target_kind = ? AND target = ?")
        args.extend([target.kind, target.value])
    if ref is not None:
        where.append("ref = ?")
        args.append(ref.strip())
    sql = "SELECT * FROM releases"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return conn.execute(sql + " ORDER BY id", args).fetchall()


def active_for_engine(conn: Connection, now: float | None = None
                      ) -> tuple[tuple[Release, ...], dict[str, tuple[float, float, int]]]:
    """Releases the engine must know (active and not ended), and level-4 grants by user."""
    now = time.time() if now is None else now
    rows = conn.execute(
        "SELECT * FROM releases WHERE status = 'active' AND \"end\" > ? ORDER BY id", (now,)
    ).fetchall()
    out: list[Release] = []
    level4: dict[str, tuple[float, float, int]] = {}
    for r in rows:
        if r["kind"] == "level":
            level4[r["target"]] = (r["start"], r["end"], r["id"])
            continue
        target = r["target"].casefold() if r["target_kind"] == "group" else r["target"]
        out.append(Release(r["id"], r["kind"], r["target_kind"], target, r["obj"],
                           r["start"], r["end"], r["analysis_ref"]))
    return tuple(out), level4
