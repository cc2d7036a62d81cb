"""Justified access (Art. 10 §1: forbidden "exceto quando em objeto de serviço").

A person blocked on a site of a category their level may justify writes why their work
needs it; that opens **that site** (the list entry that classified it, so its own
subdomains too, never the category) to that person for the policy's minutes. It is no
release: nobody approved it, so it is bounded instead — a few a day per person, a minimum
text, never for what `decide` does not mark justifiable at that moment — and the person's
chief sees each one and may revoke it and, with a reason, count it as a violation
(Art. 19). Each step is one transaction with its entry in the admin history, the person
as its operator; the audit records that follow carry the rule `justified` and the
justification's number.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass

from addon.audit.violations import Justified
from addon.errors import GuaritaError
from addon.policy.hosts import within
from addon.policy.model import Decision, Policy, Release
from addon.state import history
from addon.store.seam import Connection, Row, insert_returning_id, quoted

MAX_REASON = 2000


class JustificationError(GuaritaError):
    """A justification breaks one of its rules; `for_user` is the person's to read."""


@dataclass(frozen=True)
class Opened:
    id: int
    domain: str  # what it opens, with its subdomains
    end: float
    host: str  # the site it was asked for

    def covers(self, host: str) -> bool:
        return within(host, self.domain)


def _day_start(policy: Policy, now: float) -> float:
    tz = policy.calendar.tz
    day = dt.datetime.fromtimestamp(now, tz).date()
    return dt.datetime.combine(day, dt.time(0), tz).timestamp()


def used_today(conn: Connection, policy: Policy, login: str, now: float) -> int:
    row = conn.execute("SELECT COUNT(*) FROM justifications WHERE login = ? AND start >= ?",
                       (login, _day_start(policy, now))).fetchone()
    return int(row[0])


def justify(conn: Connection, policy: Policy, login: str, host: str, decision: Decision,
            reason: str, *, client_ip: str | None = None, ref: str | None = None,
            now: float | None = None) -> Opened:
    """Open the site `decision` (the engine's, for `host` and this person, now) blocked."""
    now = time.time() if now is None else now
    login = login.strip().lower()
    text = " ".join(reason.split())
    if not login:
        raise JustificationError("a justification needs an identified user",
                                 "Só um usuário identificado pode justificar um acesso.")
    if not decision.justifiable:
        raise JustificationError(
            f"{host}: not justifiable for {login} now ({decision.rule})",
            "Este site não pode ser aberto por justificativa: peça a liberação à TI.")
    if len(text) < policy.justify_min_length:
        raise JustificationError(
            f"the justification needs at least {policy.justify_min_length} characters",
            f"Escreva pelo menos {policy.justify_min_length} caracteres: para que serviço "
            "você precisa deste site.")
    if len(text) > MAX_REASON:
        raise JustificationError("the justification is too long",
                                 f"A justificativa passa de {MAX_REASON} caracteres.")
    domain = decision.matched or host
    with conn:
        if used_today(conn, policy, login, now) >= policy.justify_per_day:
            raise JustificationError(
                f"{login} already used {policy.justify_per_day} justifications today",
                f"Você já usou as {policy.justify_per_day} justificativas de hoje: peça a "
                "liberação à TI (ela vale por dias).")
        end = now + policy.justify_minutes * 60
        fields = {"login": login, "domain": domain, "host": host,
                  "categories": json.dumps(list(decision.categories)), "reason": text,
                  "ref": ref, "client_ip": client_ip, "start": now, "end": end}
        cols = ", ".join(map(quoted, fields))
        marks = ", ".join("?" for _ in fields)
        jid = insert_returning_id(
            conn, f"INSERT INTO justifications ({cols}) VALUES ({marks})",  # noqa: S608
            tuple(fields.values()))
        history.record(conn, login, "justify", f"justification #{jid}", None, fields)
    return Opened(jid, domain, end, host)


def fetch(conn: Connection, jid: int) -> Row:
    row = conn.execute("SELECT * FROM justifications WHERE id = ?", (jid,)).fetchone()
    if row is None:
        raise JustificationError(f"no justification #{jid}",
                                 f"Não há justificativa nº {jid}.")
    return row


def revoke(conn: Connection, jid: int, operator: str, reason: str,
           violation: bool = False, now: float | None = None) -> None:
    """End a justification now; with `violation`, it counts as one (a reason is then due)."""
    now = time.time() if now is None else now
    why = " ".join(reason.split())
    if violation and not why:
        raise JustificationError("counting a justification as a violation needs a reason",
                                 "Para contar como violação, diga o motivo.")
    with conn:
        row = fetch(conn, jid)
        if row["revoked"] is not None:
            raise JustificationError(f"justification #{jid} was already revoked",
                                     f"A justificativa nº {jid} já foi revogada.")
        end = min(float(row["end"]), now)
        conn.execute('UPDATE justifications SET revoked = ?, revoked_by = ?, revoke_reason = ?, '
                     '"end" = ?, violation = ? WHERE id = ?',
                     (now, operator, why or None, end, 1 if violation else 0, jid))
        history.record(conn, operator, "justify.revoke", f"justification #{jid}",
                       {"end": row["end"]},
                       {"end": end, "reason": why, "violation": violation})


def listed(conn: Connection, logins: frozenset[str] | None = None,
           since: float | None = None) -> list[Row]:
    """Justifications, newest first; of these people only, when `logins` is given."""
    where: list[str] = []
    args: list[object] = []
    if logins is not None:
        if not logins:
            return []
        where.append(f"login IN ({', '.join('?' for _ in logins)})")
        args.extend(sorted(logins))
    if since is not None:
        where.append("start >= ?")
        args.append(since)
    sql = "SELECT * FROM justifications"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return conn.execute(sql + " ORDER BY id DESC", args).fetchall()


def for_counting(conn: Connection, since: float | None, until: float | None,
                 window: float, users: tuple[str, ...] | None = None) -> list[Justified]:
    """The justifications that bear on the violations of [since, until): those that may
    answer an attempt in it (started up to a window after its end) and those counted as
    violations in it (`addon/audit/violations.py`)."""
    hi = None if until is None else until + window
    out = []
    for r in listed(conn, None if users is None else frozenset(users), since):
        if hi is not None and r["start"] >= hi:
            continue
        counted = bool(r["violation"]) and (until is None or r["start"] < until)
        out.append(Justified(r["id"], r["login"], r["domain"], float(r["start"]),
                             tuple(json.loads(r["categories"])), counted))
    return out


def active_for_engine(conn: Connection, now: float) -> tuple[Release, ...]:
    """The sites justifications hold open now, as the engine reads them (`decide`)."""
    rows = conn.execute('SELECT id, login, domain, start, "end" FROM justifications '
                        'WHERE revoked IS NULL AND "end" > ? ORDER BY id', (now,)).fetchall()
    return tuple(Release(r["id"], "justified", "user", r["login"], r["domain"], r["start"],
                         r["end"]) for r in rows)
