"""The notification worker: expiry warnings, the Art. 19 digest, and sending what is due.

One `tick` does all three; the proxy runs it every half minute on a thread of its own, and
`guarita notify flush` runs it once. Everything it decides is written to the outbox first
(with a unique key), so running it twice, or from two places, tells nobody twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from addon.audit import signing, witness
from addon.audit.query import Filters
from addon.errors import DirectoryUnavailable, UnknownUser
from addon.identity.directory import Contact, Directory
from addon.notify import messages, outbox
from addon.notify.smtp import NotifyError, Session, build
from addon.policy.model import Policy
from addon.policy.notify_settings import NotifySettings
from addon.service import violations as service_violations
from addon.state import justifications
from addon.store.seam import Connection, Row, StoreError

log = logging.getLogger("guarita")


@dataclass
class Outcome:
    queued: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    postponed: int = 0
    errors: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ periods
def closed_period(now: float, tz: ZoneInfo, n: NotifySettings) -> tuple[str, float, float] | None:
    """The last whole digest period, once its digest is due (after `digest_hour`), else None."""
    local = dt.datetime.fromtimestamp(now, tz)
    if local.hour < n.digest_hour:
        local -= dt.timedelta(days=1)  # before the hour: the period before is the one due
    today = local.date()
    if n.digest == "daily":
        start = today - dt.timedelta(days=1)
        end = today
        label = f"{start:%d/%m/%Y}"
    else:
        end = today - dt.timedelta(days=today.weekday())  # this week's Monday
        start = end - dt.timedelta(days=7)
        label = f"{start:%d/%m/%Y} a {end - dt.timedelta(days=1):%d/%m/%Y}"
    return (label, dt.datetime.combine(start, dt.time(), tz).timestamp(),
            dt.datetime.combine(end, dt.time(), tz).timestamp())


# ------------------------------------------------------------------ violations
def violations(audit: Connection, state: Connection, n: NotifySettings,
               start: float, end: float) -> list[dict[str, Any]]:
    """Per user and rule: the attempts in [start, end) that reach the rule's count (counted
    as the console and the CLI count them: addon/service/violations.py)."""
    found = service_violations.count(audit, state, Filters(since=start, until=end), n)
    return [{"user": v.user, "rule": v.rule.name, "rule_label": v.rule.name.replace("_", " "),
             "severity": v.rule.severity, "propose_block": v.rule.propose_block,
             "attempts": v.count, "records": v.records, "hosts": v.hosts,
             "first": v.attempts[0].first, "last": max(a.last for a in v.attempts),
             "need": v.rule.attempts}
            for v in found if v.reached]


def make_digest(state: Connection, audit: Connection | None, policy: Policy,
                directory: Directory, now: float) -> int:
    """Queue the digest of the last closed period, once; returns how many messages."""
    n, tz = policy.notify, policy.calendar.tz
    period = closed_period(now, tz, n)
    if period is None or audit is None:
        return 0
    label, start, end = period
    if state.execute("SELECT 1 FROM digests WHERE period = ?", (label,)).fetchone():
        return 0
    items = violations(audit, state, n, start, end)
    to: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    unresolved: list[str] = []
    for item in items:
        for who in n.severities.get(item["severity"], ()):
            if who == "user":
                to[("user", item["user"])].append(item)
            elif who == "chief":
                c = _contact(directory, item["user"])
                if c is not None and c.chief_email:
                    to[("chief", c.chief_email)].append(item)
                else:
                    unresolved.append(item["user"])
            else:
                for addr in n.offices.get(who, ()):
                    to[("office", addr)].append(item)
    # Art. 10 §1: each chief also hears of their staff's justified accesses of the period
    justified: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for j in justifications.listed(state, None, start):
        if j["start"] >= end:
            continue
        c = _contact(directory, j["login"])
        if c is not None and c.chief_email:
            justified[c.chief_email].append(dict(j))
            to.setdefault(("chief", c.chief_email), [])
    proposals = sorted({f"{i['user']} ({i['rule_label']})" for i in items if i["propose_block"]})
    queued = 0
    with state:
        for (role, value), mine in sorted(to.items()):
            if role == "user":
                subject, body = messages.digest_user(label, mine, tz)
                to_kind: outbox.ToKind = "user"
            elif role == "chief":
                subject, body = messages.digest_chief(label, mine, tz, justified.get(value, []))
                to_kind = "address"
            else:
                subject, body = messages.digest_office(label, mine, tz, proposals)
                to_kind = "address"
            queued += outbox.enqueue(state, f"digest:{label}:{role}:{value}", f"digest.{role}",
                                     to_kind, value, subject, body, now)
        if policy.audit_email_checkpoints and n.committee:
            queued += _checkpoints(state, audit, label, start, end, now)
        state.execute("INSERT INTO digests (period, made, messages) VALUES (?, ?, ?)",
                      (label, now, queued))
    if unresolved:
        log.warning("guarita: Art. 19 digest %s: no chief with an e-mail in the directory for "
                    "%s", label, ", ".join(sorted(set(unresolved))))
    return queued


def _checkpoints(state: Connection, audit: Connection, label: str,
                 start: float, end: float, now: float) -> int:
    """The period's signed checkpoints to the committee (a witness in their mailboxes)."""
    entries = witness.of_period(audit, start, end)
    if not entries:
        return 0
    keys = sorted({signing.fingerprint(e["public_key"]) for e in entries})
    subject, body = messages.digest_checkpoints(label, [witness.line(e) for e in entries], keys)
    return int(outbox.enqueue(state, f"digest:{label}:checkpoints", "digest.checkpoints",
                              "committee", "", subject, body, now))


def _contact(directory: Directory, login: str) -> Contact | None:
    try:
        return directory.contact(login)
    except (UnknownUser, DirectoryUnavailable):
        return None


# ------------------------------------------------------------------ expiry
def warn_expiring(state: Connection, policy: Policy, now: float) -> int:
    """Users whose release ends within `expiry_warning_hours` hear of it, once per end."""
    horizon = now + policy.notify.expiry_warning_hours * 3600
    rows = state.execute(
        "SELECT * FROM releases WHERE status = 'active' AND target_kind = 'user' "
        "AND kind IN ('domain', 'category', 'level') AND \"end\" > ? AND \"end\" <= ?",
        (now, horizon)).fetchall()
    queued = 0
    with state:
        for row in rows:
            subject, body = messages.expiring(row, policy.calendar.tz)
            queued += outbox.enqueue(state, f"release.expiring:{row['id']}:{row['end']:.0f}",
                                     "release.expiring", "user", row["target"], subject, body, now)
    return queued


# ------------------------------------------------------------------ sending
def addresses(row: Row, n: NotifySettings, directory: Directory) -> list[str]:
    """Where a queued message goes now; NotifyError when nobody can be named."""
    if row["to_kind"] == "address":
        return [checked_address(row["to_value"], "address")]
    if row["to_kind"] == "committee":
        if not n.committee:
            raise NotifyError("no committee address in notifications.committee")
        return [checked_address(a, "notifications.committee") for a in n.committee]
    try:
        email = directory.contact(row["to_value"]).email
    except UnknownUser as exc:
        raise NotifyError(f"user {row['to_value']!r} is not in the directory") from exc
    except DirectoryUnavailable as exc:
        raise NotifyError(f"directory unavailable: {exc}", down=True) from exc
    if not email:
        raise NotifyError(f"user {row['to_value']!r} has no e-mail address in the directory")
    return [checked_address(email, f"user {row['to_value']!r}")]


_ADDRESS = re.compile(r"^[^\s@<>(),;:\\\"\[\]]+@[^\s@<>(),;:\\\"\[\]]+$")


def checked_address(address: str, whose: str) -> str:
    """The address as a header can carry it; NotifyError (for this message only) if not.

    A directory `mail` attribute is outside guarita's control: one holding CR/LF or a
    second address must fail its own message, never the outbox behind it.
    """
    if not _ADDRESS.match(address) or not address.isprintable():
        raise NotifyError(f"{whose}: invalid e-mail address in the directory: {address!r}")
    return address


def _message(n: NotifySettings, to: list[str], row: Row) -> EmailMessage:
    try:
        return build(n.smtp, to, row["subject"], row["body"], row["key"])
    except ValueError as exc:  # a header the email package refuses: this message only
        raise NotifyError(f"message #{row['id']} cannot be written: {exc}") from exc


def send_due(state: Connection, policy: Policy, directory: Directory, now: float,
             session_factory: Callable[[], Session] | None = None) -> Outcome:
    n = policy.notify
    out = Outcome()
    session = (session_factory or (lambda: Session(n.smtp)))()
    try:
        for row in outbox.due(state, now):
            try:
                to = addresses(row, n, directory)
            except NotifyError as exc:
                if exc.down:
                    outbox.mark_retry(state, row, str(exc), now, n.max_tries)
                    out.retried += 1
                else:  # nobody to send it to: waiting would not help
                    outbox.mark_retry(state, row, str(exc), now, 1)
                    out.failed += 1
                out.errors.append(str(exc))
                continue
            key = ",".join(sorted(to))
            recent = outbox.sent_since(state, key, now - 3600)
            if len(recent) >= n.per_recipient_per_hour:
                outbox.postpone(state, row["id"], recent[0] + 3600,
                                f"rate limit: {n.per_recipient_per_hour} per hour")
                out.postponed += 1
                continue
            try:
                msg = _message(n, to, row)
            except NotifyError as exc:  # nothing a retry would change
                outbox.mark_retry(state, row, str(exc), now, 1)
                out.failed += 1
                out.errors.append(str(exc))
                continue
            try:
                session.send(msg)
            except NotifyError as exc:
                outbox.mark_retry(state, row, str(exc), now, n.max_tries)
                out.errors.append(str(exc))
                if row["tries"] + 1 >= n.max_tries:
                    out.failed += 1
                else:
                    out.retried += 1
                if exc.down:
                    break  # the server is away: the rest wait, nobody is hammered
                continue
            outbox.mark_sent(state, row["id"], key, now)
            out.sent += 1
    finally:
        session.close()
    return out


def tick(state: Connection, audit: Connection | None, policy: Policy,
         directory: Directory, now: float | None = None,
         session_factory: Callable[[], Session] | None = None) -> Outcome:
    """Expiry warnings, the digest when due, then send what is due."""
    now = time.time() if now is None else now
    queued = warn_expiring(state, policy, now)
    try:
        queued += make_digest(state, audit, policy, directory, now)
    except StoreError as exc:  # the audit log is busy or missing: the digest waits
        log.warning("guarita: Art. 19 digest postponed: %s", exc)
    out = send_due(state, policy, directory, now, session_factory)
    out.queued = queued
    return out
