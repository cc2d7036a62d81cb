"""`guarita audit`: for auditors and chiefs (Art. 9 §9, Art. 11 §4–6, Art. 19)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from addon.audit import query, retention
from addon.audit import violations as counting
from addon.audit.schema import COLUMNS
from addon.cli import evidence
from addon.cli.common import (
    audit_of,
    config_option,
    default_operator,
    emit,
    fmt_time,
    format_option,
    operator_option,
    parse_time,
    policy_of,
    progress,
    state_of,
)
from addon.cli.holds import hold
from addon.errors import GuaritaError
from addon.identity.directory import chief_of
from addon.identity.registry import make_directory
from addon.policy.hosts import canonical_ip
from addon.policy.model import Policy
from addon.service import reads
from addon.service import violations as service_violations
from addon.state import history

F = TypeVar("F", bound=Callable[..., Any])


def _why(f: F) -> F:
    """Why this read: in the access log (who read whose records), required with a named
    person or machine when the policy's audit.require_case_for_person is on."""
    f = click.option("--purpose", help="Why these records are read (kept in the access log).")(f)
    return click.option("--case", "case_ref", help="The case (processo) this read is for.")(f)


def _admit(policy: Policy, action: str, f: query.Filters, case_ref: str | None,
           purpose: str | None, **more: Any) -> None:
    reads.admit(policy, state_of(policy),
                reads.read_of(default_operator(), "cli", action, f, purpose, case_ref, **more))


def _since_until(f: F) -> F:
    f = click.option("--until", help="ISO-8601 end (exclusive).")(f)
    return click.option("--since", help="ISO-8601 start (inclusive).")(f)


def _filters(policy: Policy, **kw: Any) -> query.Filters:
    tz = policy.calendar.tz
    if kw.get("decision") not in (None, "allow", "block", "error"):
        raise GuaritaError("--decision must be allow, block or error")
    return query.Filters(
        user=kw.get("user"), ip=canonical_ip(kw["ip"]) if kw.get("ip") else None,
        host=kw.get("host"), category=kw.get("category"), decision=kw.get("decision"),
        ref=kw.get("ref"),
        since=parse_time(kw["since"], tz, "--since") if kw.get("since") else None,
        until=parse_time(kw["until"], tz, "--until") if kw.get("until") else None,
    )


def _times(rows: Any, policy: Policy, keys: tuple[str, ...] = ("ts",)) -> Any:
    tz = policy.calendar.tz
    for r in rows:
        for k in keys:
            if k in r:
                r[k] = fmt_time(r[k], tz)
        yield r


@click.group()
def audit() -> None:
    """Query the audit log and the history of administrative operations."""


@audit.command("query")
@click.option("--ref", help="The reference shown on a block page.")
@click.option("--user")
@click.option("--ip")
@click.option("--host", help="Exact host; '*.example.com' for it and its subdomains.")
@click.option("--category")
@click.option("--decision", type=click.Choice(["allow", "block", "error"]),
              help="error: allowed, but the site failed (DNS, refused, TLS, timeout).")
@_since_until
@click.option("--limit", type=click.IntRange(1), default=100, show_default=True)
@_why
@format_option
@config_option
def query_(config: Path, fmt: str, limit: int, case_ref: str | None, purpose: str | None,
           **kw: Any) -> None:
    """Audit records, newest first, matching every filter given."""
    policy = policy_of(config)
    conn = audit_of(policy)
    f = _filters(policy, **kw)
    _admit(policy, "query", f, case_ref, purpose, limit=limit)
    rows = _times(query.records(conn, f, limit), policy)
    if fmt == "table":
        cols = ["ts", "ref", "user", "client_ip", "level", "method", "host", "path", "status",
                "decision", "rule", "categories", "bytes_in", "bytes_out"]
    else:
        cols = ["id", *COLUMNS]
        if fmt == "json":
            rows = ({**r, "categories": json.loads(r["categories"] or "[]")} for r in rows)
    emit(rows, cols, fmt)


@audit.command()
@click.option("--by", type=click.Choice(list(query.GROUPS)), default="user", show_default=True)
@click.option("--top", type=click.IntRange(1), default=20, show_default=True)
@click.option("--user")
@click.option("--decision", type=click.Choice(["allow", "block", "error"]),
              help="error: allowed, but the site failed (DNS, refused, TLS, timeout).")
@_since_until
@_why
@format_option
@config_option
def report(config: Path, fmt: str, by: str, top: int, case_ref: str | None,
           purpose: str | None, **kw: Any) -> None:
    """Usage statistics: requests, blocked attempts, bytes and users, top N."""
    policy = policy_of(config)
    conn = audit_of(policy)
    f = _filters(policy, **kw)
    _admit(policy, "report", f, case_ref, purpose, by=by, top=top)
    rows = query.report(conn, f, by, top)
    emit(rows, [by, "requests", "blocked", "bytes", "users"], fmt)


@audit.command()
@click.option("--user")
@click.option("--by-unit", is_flag=True,
              help="Sum per unit: each person's immediate chief, from the directory.")
@click.option("--attempts", "each", is_flag=True,
              help="One row per attempt, with the records behind it (their references).")
@_since_until
@_why
@format_option
@config_option
def violations(config: Path, fmt: str, by_unit: bool, each: bool, case_ref: str | None,
               purpose: str | None, **kw: Any) -> None:
    """Art. 19: the refusals the policy's `violations.rules` count, per user, in attempts.

    An attempt is a person on one site within `violations.window_minutes` (shipped: 10),
    however many records the browser made; the console and the digests count the same way.
    By default attempts on the Art. 10 categories and on malicious sites; time-of-day
    refusals (social networks in office hours) and web-conference platforms are rules of
    use, not violations, and are left out unless the policy names them.
    """
    policy = policy_of(config)
    n = policy.notify
    f = _filters(policy, **kw)
    conn = audit_of(policy)
    _admit(policy, "violations", f, case_ref, purpose)
    found = service_violations.count(conn, state_of(policy), f, n)
    people = counting.per_person(found)
    if each:
        rows = [{"user": a.user, "host": a.host, "rule": a.rule, "first": a.first,
                 "last": a.last, "records": a.records, "refs": ",".join(a.refs)}
                for p in people for a in p["detail"]]
        emit(_times(rows, policy, ("first", "last")),
             ["user", "host", "rule", "first", "last", "records", "refs"], fmt)
    elif by_unit:
        units = counting.by_unit(people, chief_of(make_directory(policy)))
        emit([{**u, "users": ",".join(u["users"])} for u in units],
             ["unit", "people", "attempts", "users"], fmt)
    else:
        rows = [{k: v for k, v in p.items() if k != "detail"} for p in people]
        emit(_times(rows, policy, ("first", "last")),
             ["user", "attempts", "records", "first", "last", "categories", "hosts", "rules"],
             fmt)
    if fmt == "table":
        counted = ", ".join(f"{r.name} ({', '.join(sorted(r.rules))})" for r in n.rules)
        click.echo(f"counted as violations: {counted or 'nothing'} (policy: violations.rules), "
                   f"one attempt per person and site per {int(n.window // 60)} min", err=True)


@audit.command()
@click.option("--operator", "who", help="Only this operator's operations.")
@click.option("--action", help="Only actions starting with this (e.g. block, release).")
@_since_until
@click.option("--limit", type=click.IntRange(1), default=1000, show_default=True)
@format_option
@config_option
def admin(config: Path, fmt: str, who: str | None, action: str | None, since: str | None,
          until: str | None, limit: int) -> None:
    """The append-only history of administrative operations (Art. 11 §4–6)."""
    policy = policy_of(config)
    tz = policy.calendar.tz
    conn = state_of(policy)
    rows = history.entries(conn, parse_time(since, tz) if since else None,
                           parse_time(until, tz) if until else None, who, action, limit)
    emit((history.readable(r, tz) for r in rows),
         ["id", "at", "operator", "action", "subject", "before", "after"], fmt)


@audit.command()
@click.option("--before", required=True, help="Delete records older than this ISO-8601 date.")
@config_option
@operator_option
def prune(before: str, config: Path, operator: str) -> None:
    """Delete audit records older than --before, except those under a legal hold
    (`guarita audit hold`); recorded in the history. The policy's audit.retention_days
    does this every day by itself."""
    policy = policy_of(config)
    cutoff = parse_time(before, policy.calendar.tz, "--before")
    expected = query.count_before(audit_of(policy), cutoff)
    with progress("pruning the audit log", expected) as bar:
        n = retention.prune(state_of(policy), policy, cutoff, operator, on_progress=bar.update)
    click.echo(f"deleted {n} audit records older than {before}")


audit.add_command(hold)
for _command in evidence.COMMANDS:
    audit.add_command(_command)
