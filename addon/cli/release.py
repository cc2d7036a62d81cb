"""`guarita release`: temporary releases, web-conference events, level 4, and requests."""

from __future__ import annotations

import time
from pathlib import Path

import click

from addon.cli.common import (
    config_option,
    emit,
    fmt_time,
    format_option,
    operator_option,
    parse_time,
    policy_of,
    state_of,
)
from addon.errors import ReleaseError
from addon.identity.registry import make_directory
from addon.lists import compiler
from addon.policy.hosts import normalize_host
from addon.policy.model import Policy
from addon.service import admin
from addon.service import requests as service
from addon.state import releases
from addon.state import requests as pending
from addon.state.releases import Target

TO_HELP = "Who gets it: user:LOGIN, group:NAME or machine:IP."


def _target(policy: Policy, text: str) -> Target:
    """Parse and check that the target exists: a release for nobody is a typo."""
    t = releases.parse_target(text)
    if t.kind == "user":
        make_directory(policy).lookup(t.value)
    elif t.kind == "group":
        known = set(policy.group_levels) | set(policy.group_special)
        for u in policy.users.values():
            known |= u.groups
        if t.value not in known:
            raise ReleaseError(f"unknown group {t.value!r} (not mapped in the policy's directory)")
    return t


def _categories(policy: Policy, domain: str | None) -> tuple[str, ...]:
    """How the lists classify a domain (what a release of it would open)."""
    if not domain:
        return ()
    idx = compiler.policy_index(policy.paths)
    return idx.categories_of(normalize_host(domain))


def _rid(text: str) -> int:
    try:
        return int(text.lstrip("#"))
    except ValueError as exc:
        raise ReleaseError(f"invalid release ID {text!r}") from exc


@click.group()
def release() -> None:
    """Temporary releases (Art. 9 §10–12) and web-conference event releases (seed 000)."""


@release.command()
@click.option("--to", "to", required=True, help=TO_HELP)
@click.option("--domain", help="Release this domain (and its subdomains).")
@click.option("--category", help="Release this whole category.")
@click.option("--start", help="ISO-8601 start (default now).")
@click.option("--days", type=float, required=True, help="Length in days (at most 7 without the committee).")
@click.option("--reason", required=True, help="Why: the service need.")
@click.option("--committee-ref", help="Committee decision that allows more than 7 days.")
@click.option("--analysis-ref", help="Technical analysis that cleared a malicious object (§11).")
@config_option
@operator_option
def grant(to: str, domain: str | None, category: str | None, start: str | None, days: float,
          reason: str, committee_ref: str | None, analysis_ref: str | None, config: Path,
          operator: str) -> None:
    """Grant a temporary release of a domain or category."""
    policy = policy_of(config)
    target = _target(policy, to)
    begin = parse_time(start, policy.calendar.tz, "--start") if start else None
    rid = releases.grant(
        state_of(policy), policy, target, domain=domain, category=category,
        start=begin, days=days, reason=reason, operator=operator, committee_ref=committee_ref,
        analysis_ref=analysis_ref, domain_categories=_categories(policy, domain),
    )
    click.echo(f"release #{rid} granted to {target}")


@release.command()
@click.argument("release_id")
@click.option("--days", type=float, required=True, help="Extra days (at most 7, once).")
@click.option("--committee-ref", help="Committee decision for a longer or second extension.")
@config_option
@operator_option
def extend(release_id: str, days: float, committee_ref: str | None, config: Path,
           operator: str) -> None:
    """Extend an active temporary release once, by at most a week (Art. 9 §10)."""
    policy = policy_of(config)
    end = releases.extend(state_of(policy), policy, _rid(release_id), days,
                          operator, committee_ref)
    click.echo(f"release #{_rid(release_id)} now ends {fmt_time(end, policy.calendar.tz)}")


@release.command()
@click.argument("release_id")
@click.option("--reason", required=True, help="Why it ends now.")
@config_option
@operator_option
def revoke(release_id: str, reason: str, config: Path, operator: str) -> None:
    """End a release (or cancel a request) at once."""
    policy = policy_of(config)
    releases.revoke(state_of(policy), _rid(release_id), reason, operator)
    click.echo(f"release #{_rid(release_id)} revoked")


@release.command()
@click.option("--to", "to", required=True, help=TO_HELP)
@click.option("--platform", required=True, help="Platform named in the policy (zoom, webex, …).")
@click.option("--date", "date_", required=True, help="Event date, YYYY-MM-DD.")
@click.option("--start", required=True, help="Event start, HH:MM (policy time zone).")
@click.option("--end", required=True, help="Event end, HH:MM.")
@click.option("--reason", required=True, help="The event and why Teams cannot serve it.")
@config_option
@operator_option
def event(to: str, platform: str, date_: str, start: str, end: str, reason: str, config: Path,
          operator: str) -> None:
    """Request a web-conference platform for one event, 5 business days ahead (seed 000).

    A request is not a release: it takes effect only after `guarita release approve`.
    """
    policy = policy_of(config)
    rid = service.file_event(state_of(policy), policy, _target(policy, to), platform, operator,
                             {"data": date_, "inicio": start, "fim": end,
                              "justificativa": reason})
    click.echo(f"event request #{rid} recorded; it takes effect only once approved "
               f"(guarita release approve {rid})")


@release.command()
@click.option("--to", "to", required=True, help="user:LOGIN")
@click.option("--until", "until", required=True, help="ISO-8601 end (level 4 always ends).")
@click.option("--committee-ref", required=True, help="The committee's authorisation.")
@click.option("--reason", required=True, help="Why.")
@config_option
@operator_option
def level(to: str, until: str, committee_ref: str, reason: str, config: Path,
          operator: str) -> None:
    """Assign level 4 (ACESSO IRRESTRITO) to a user until a date (Art. 9 §4 V).

    A date alone means the end of that day; a date and time without an offset are local."""
    policy = policy_of(config)
    t = _target(policy, to)
    if t.kind != "user":
        raise ReleaseError("level 4 is assigned to a user: --to user:LOGIN")
    rid, _, unchecked = admin.grant_level4(
        state_of(policy), policy, make_directory(policy), operator,
        {"usuario": t.value, "ate": until, "comite": committee_ref, "motivo": reason})
    if unchecked is not None:
        click.echo(f"guarita: warning: login {t.value!r} not checked ({unchecked})", err=True)
    click.echo(f"release #{rid}: {t.value} has level 4 until {until}")


def _decision(verb: str, release_id: str, config: Path, operator: str,
              reason: str | None = None, analysis_ref: str | None = None) -> None:
    policy = policy_of(config)
    conn = state_of(policy)
    rid = _rid(release_id)
    if verb == "approve":
        row = releases.fetch(conn, rid)
        domain = row["obj"] if row["kind"] == "domain" else None
        pending.approve(conn, policy, rid, operator, analysis_ref, _categories(policy, domain))
    elif verb == "deny":
        pending.deny(conn, rid, reason or "", operator, policy)
    else:
        pending.appeal(conn, rid, reason or "", operator, policy)
    done = {"approve": "approved", "deny": "denied", "appeal": "appealed"}[verb]
    click.echo(f"release #{rid}: {done}")


@release.command()
@click.argument("release_id")
@click.option("--analysis-ref", help="Technical analysis that cleared a malicious site (§11).")
@config_option
@operator_option
def approve(release_id: str, analysis_ref: str | None, config: Path, operator: str) -> None:
    """Approve a pending request: it becomes an active release, under the grant's rules."""
    _decision("approve", release_id, config, operator, analysis_ref=analysis_ref)


@release.command()
@click.argument("release_id")
@click.option("--reason", required=True, help="Why it is refused (the user sees it).")
@config_option
@operator_option
def deny(release_id: str, reason: str, config: Path, operator: str) -> None:
    """Deny a pending request."""
    _decision("deny", release_id, config, operator, reason)


@release.command()
@click.argument("release_id")
@click.option("--reason", required=True, help="Grounds of the appeal.")
@config_option
@operator_option
def appeal(release_id: str, reason: str, config: Path, operator: str) -> None:
    """Appeal a denial once, for the Subprocuradoria's decision (Art. 9 §12)."""
    _decision("appeal", release_id, config, operator, reason)


COLUMNS = ["id", "kind", "target", "object", "start", "end", "status", "reason", "requested_by",
           "approved_by", "committee_ref", "analysis_ref", "extended", "ref"]


def _rows(policy: Policy, rows: list) -> list[dict]:
    tz = policy.calendar.tz
    now = time.time()
    out = []
    for r in rows:
        status = r["status"]
        if status == "active" and r["end"] <= now:
            status = "expired"
        out.append({**dict(r), "target": f"{r['target_kind']}:{r['target']}", "object": r["obj"],
                     "start": fmt_time(r["start"], tz), "end": fmt_time(r["end"], tz),
                     "status": status})
    return out


@release.command("list")
@click.option("--active", is_flag=True, help="Only releases in force now or later.")
@click.option("--to", "to", help=TO_HELP)
@format_option
@config_option
def list_(active: bool, to: str | None, fmt: str, config: Path) -> None:
    """Releases and requests, with their state."""
    policy = policy_of(config)
    rows = releases.listing(state_of(policy), active_only=active,
                            target=releases.parse_target(to) if to else None)
    emit(_rows(policy, rows), COLUMNS, fmt)


@release.command()
@click.option("--ref", help="The request filed from the block page with this reference, "
                            "whatever its status.")
@format_option
@config_option
def requests(ref: str | None, fmt: str, config: Path) -> None:
    """Pending requests and appeals, for IT and the committee (or one by its reference)."""
    policy = policy_of(config)
    rows = releases.listing(state_of(policy),
                            statuses=None if ref else ("requested", "appealed"), ref=ref)
    emit(_rows(policy, rows), COLUMNS + ["event_date", "decision_note"], fmt)
