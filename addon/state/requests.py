"""Release requests (Art. 9 §12–13; seed 000 items 3–5): filed, then approved or denied.

A request is not a release: it is stored as `requested` and takes effect only
when IT or the committee approves it, under the same rules as a grant
(`releases.check_object`). A denial can be appealed once; a denied request is
shown again, with its reason, when the user meets the same block.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass

from addon.errors import ReleaseError
from addon.notify import messages, outbox
from addon.notify.outbox import ToKind
from addon.policy.hosts import normalize_host
from addon.policy.model import Policy
from addon.state.history import record as log_admin
from addon.state.releases import DAY, Target, check_object, fetch, insert, update
from addon.store.seam import Connection, Row

PENDING = ("requested", "appealed")  # filed, or appealed: waiting for a decision


def event_window(policy: Policy, date: dt.date, start: dt.time, end: dt.time) -> tuple[float, float]:
    """The event's active window in POSIX seconds, with the configured margin."""
    if end <= start:
        raise ReleaseError("the event's --end must be after its --start",
                           "O fim do evento deve ser depois do início.")
    tz = policy.calendar.tz
    margin = policy.event_margin_minutes * 60
    s = dt.datetime.combine(date, start, tz).timestamp() - margin
    e = dt.datetime.combine(date, end, tz).timestamp() + margin
    return s, e


def request_event(conn: Connection, policy: Policy, target: Target, platform: str,
                  date: dt.date, start: dt.time, end: dt.time, reason: str, operator: str,
                  today: dt.date | None = None, ref: str | None = None) -> int:
    """Seed 000: a request, at least N business days strictly before the event; not a release."""
    p = policy.platforms.get(platform.lower())
    if p is None:
        known = ", ".join(sorted(policy.platforms))
        raise ReleaseError(f"unknown platform {platform!r} (known: {known}; Teams needs none)",
                           "Esta plataforma de videoconferência não está cadastrada: procure a TI.")
    if not reason.strip():
        raise ReleaseError("an event request needs a --reason",
                           "Escreva a justificativa: para que reunião ou evento é o acesso.")
    today = today or dt.datetime.now(policy.calendar.tz).date()
    if date <= today:
        raise ReleaseError(f"the event date {date} is not in the future",
                           "A data do evento precisa ser futura.")
    need = policy.event_notice_business_days
    have = policy.calendar.business_days_between(today, date)
    if have < need:
        earliest = policy.calendar.earliest_event_date(today, need)
        raise ReleaseError(
            f"an event on {date} requested on {today} has {have} business day(s) before it; "
            f"{need} are required (seed 000 item 4): the earliest acceptable date is {earliest}",
            f"O pedido precisa ser feito com pelo menos {need} dias úteis de antecedência: "
            f"para um evento em {date:%d/%m/%Y}, o prazo já passou. A primeira data possível "
            f"hoje é {earliest:%d/%m/%Y}.")
    s, e = event_window(policy, date, start, end)
    with conn:
        rid = insert(
            conn, operator, "release.event.request", kind="event", target_kind=target.kind,
            target=target.value, obj=p.category, start=s, end=e, status="requested",
            reason=reason, requested_by=operator, event_date=date.isoformat(), ref=ref,
        )
        _tell_committee(conn, policy, rid)
        return rid


def request_access(conn: Connection, policy: Policy, user: str, *, domain: str | None,
                   category: str | None, days: float, reason: str, ref: str | None = None) -> int:
    """A pending request made by the blocked user on the block page."""
    if not reason.strip():
        raise ReleaseError("a request needs a justification",
                           "Escreva a justificativa: por que o seu trabalho precisa deste site.")
    days = min(max(days, 1), policy.release_max_days)
    obj, kind = (normalize_host(domain), "domain") if domain else (category or "", "category")
    now = time.time()
    with conn:
        rid = insert(
            conn, user, "release.request", kind=kind, target_kind="user", target=user.lower(),
            obj=obj, start=now, end=now + days * DAY, status="requested", reason=reason,
            requested_by=user.lower(), ref=ref,
        )
        _tell_committee(conn, policy, rid)
        return rid


def approve(conn: Connection, policy: Policy, rid: int, operator: str,
            analysis_ref: str | None = None, domain_categories: tuple[str, ...] = (),
            committee_ref: str | None = None) -> None:
    """Seed 000 item 5 / Art. 9 §10: only an approval makes a request a release, and it
    is held to the same rules as a grant (`check_object`)."""
    with conn:
        row = fetch(conn, rid)
        if row["status"] not in PENDING:
            raise ReleaseError(f"release #{rid} is {row['status']}, not a pending request",
                               f"O pedido nº {rid} não está pendente (já foi decidido).")
        now = time.time()
        fields: dict[str, object] = {"status": "active", "approved_by": operator}
        if analysis_ref:
            fields["analysis_ref"] = analysis_ref
        if committee_ref:
            fields["committee_ref"] = committee_ref  # the committee's decision, on record
        if row["kind"] == "event":
            if row["end"] <= now:
                raise ReleaseError(f"the event of request #{rid} is already over",
                                   f"O evento do pedido nº {rid} já terminou.")
        else:
            cats = domain_categories if row["kind"] == "domain" else (row["obj"],)
            check_object(policy, row["obj"], cats, analysis_ref or row["analysis_ref"])
            duration = row["end"] - row["start"]
            start = max(now, row["start"])
            fields.update(start=start, end=start + duration)
        update(conn, operator, "release.approve", row, None, **fields)
        if policy.notify.enabled:
            start, end = fields.get("start", row["start"]), fields.get("end", row["end"])
            subject, body = messages.approved(row, float(start), float(end),  # type: ignore[arg-type]
                                              policy.calendar.tz)
            _queue(conn, operator, f"release.approved:{rid}", "release.approved", "user",
                   person(row), subject, body)


def deny(conn: Connection, rid: int, reason: str, operator: str,
         policy: Policy | None = None) -> None:
    with conn:
        row = fetch(conn, rid)
        if row["status"] not in PENDING:
            raise ReleaseError(f"release #{rid} is {row['status']}, not a pending request",
                               f"O pedido nº {rid} não está pendente (já foi decidido).")
        if not reason.strip():
            raise ReleaseError("a denial needs a --reason", "Escreva o motivo da negativa.")
        update(conn, operator, "release.deny", row, status="denied", decision_note=reason)
        if policy is not None and policy.notify.enabled:
            subject, body = messages.denied(row, reason)
            # a denial, its appeal and the appeal's denial: each its own message
            n = conn.execute("SELECT count(*) FROM admin_log WHERE action = 'release.deny' "
                             "AND subject = ?", (f"release #{rid}",)).fetchone()[0]
            _queue(conn, operator, f"release.denied:{rid}:{n}", "release.denied", "user",
                   person(row), subject, body)


def appeal(conn: Connection, rid: int, reason: str, operator: str,
           policy: Policy | None = None) -> None:
    """Art. 9 §12: a denied request can be appealed once, to the Subprocuradoria."""
    with conn:
        row = fetch(conn, rid)
        if row["status"] != "denied":
            raise ReleaseError(f"release #{rid} is {row['status']}: only a denial can be appealed",
                               "Só um pedido negado pode receber recurso.")
        appealed = conn.execute(
            "SELECT 1 FROM admin_log WHERE action = 'release.appeal' AND subject = ?",
            (f"release #{rid}",),
        ).fetchone()
        if appealed:
            raise ReleaseError(f"release #{rid} was already appealed once (Art. 9 §12)",
                               f"O pedido nº {rid} já teve o seu recurso (Art. 9 §12).")
        # the denial's reason stays the request's decision; the appeal's is in its history
        update(conn, operator, "release.appeal", row, note={"appeal": reason}, status="appealed")
        if policy is not None and policy.notify.enabled and policy.notify.committee:
            subject, body = messages.appeal_filed(row, reason)
            _queue(conn, operator, f"request.appeal:{rid}", "request.appeal", "committee", "-",
                   subject, body)


def person(row: Row) -> str:
    """Who hears of a decision: the user the release is for; for a group or a machine,
    whoever asked. IT files event requests for others (`--to user:bruno --operator ti`):
    the operator is not the person."""
    return str(row["target"] if row["target_kind"] == "user" else row["requested_by"])


def _tell_committee(conn: Connection, policy: Policy, rid: int) -> None:
    """A new request waits for the committee/IT: they hear of it (inside the caller's
    transaction, so a request is never filed without its notice, nor the reverse)."""
    if policy.notify.enabled and policy.notify.committee:
        row = fetch(conn, rid)
        subject, body = messages.request_filed(row, policy.calendar.tz)
        _queue(conn, row["requested_by"], f"request.new:{rid}", "request.new", "committee", "-",
               subject, body)


def _queue(conn: Connection, operator: str, key: str, kind: str, to_kind: ToKind,
           to_value: str, subject: str, body: str) -> None:
    """Queue a notice, and say so in the admin history (who was told of what)."""
    if outbox.enqueue(conn, key, kind, to_kind, to_value, subject, body):
        log_admin(conn, operator, "notify.queued", key, None, f"{to_kind}:{to_value}")


DENIAL_MEMORY = 90 * DAY  # how long a denied request is shown again on its block page


def recent_denials(conn: Connection, now: float | None = None
                   ) -> dict[tuple[str, str], tuple[int, str]]:
    """(user, domain) -> (request ID, reason) of the latest denied domain request, 90 days."""
    now = time.time() if now is None else now
    rows = conn.execute(
        "SELECT id, target, obj, decision_note FROM releases WHERE status = 'denied' "
        "AND kind = 'domain' AND target_kind = 'user' AND updated > ? ORDER BY id",
        (now - DENIAL_MEMORY,)).fetchall()
    return {(r["target"], r["obj"]): (r["id"], r["decision_note"] or "") for r in rows}


@dataclass(frozen=True)
class Step:
    """One moment of a request's life, as the person and the committee read it."""

    at: float
    what: str  # pedido, negado, recurso, aprovado, encerrado, prorrogado
    who: str
    text: str


STEP_NAMES = {"release.request": "pedido", "release.deny": "negado", "release.appeal": "recurso",
              "release.approve": "aprovado", "release.revoke": "encerrado",
              "release.extend": "prorrogado", "release.event.request": "pedido",
              "release.grant": "concedido", "release.level4": "concedido"}


def timeline(conn: Connection, rid: int) -> list[Step]:
    """Filed (with its reason), denied (with the committee's), appealed (with the person's),
    decided on appeal: the whole history, from the append-only admin log."""
    rows = conn.execute("SELECT at, operator, action, after FROM admin_log WHERE subject = ? "
                        "ORDER BY id", (f"release #{rid}",)).fetchall()
    steps = []
    for r in rows:
        what = STEP_NAMES.get(r["action"])
        if what is None:
            continue
        after = json.loads(r["after"] or "{}")
        if what == "pedido":
            text = after.get("reason") or ""
        elif what == "recurso":  # before the fix, an appeal's reason went to decision_note
            text = after.get("appeal") or after.get("decision_note") or ""
        elif what == "negado":
            text = after.get("decision_note") or ""
        elif what == "aprovado":
            text = after.get("committee_ref") or after.get("analysis_ref") or ""
        else:
            text = after.get("reason") or after.get("decision_note") or ""
        steps.append(Step(float(r["at"]), what, r["operator"], str(text)))
    return steps
