"""`guarita justify list | revoke`: justified access (Art. 10 §1), as IT and chiefs see it."""

from __future__ import annotations

import json
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
from addon.service import justify as service
from addon.state import justifications

COLUMNS = ["id", "user", "site", "host", "categories", "reason", "ref", "ip", "start", "end",
           "revoked_by", "revoke_reason", "violation"]


@click.group()
def justify() -> None:
    """Justified access (Art. 10 §1): sites people opened for their work, and revoking them."""


@justify.command("list")
@click.option("--user", "users", multiple=True, help="Only this login's (repeatable).")
@click.option("--since", help="Only those opened from this time (ISO-8601).")
@format_option
@config_option
def justify_list(users: tuple[str, ...], since: str | None, config: Path, fmt: str) -> None:
    """Justifications, newest first, with what each person wrote."""
    policy = policy_of(config)
    tz = policy.calendar.tz
    start = parse_time(since, tz, "--since") if since else None
    logins = frozenset(u.strip().lower() for u in users) if users else None
    rows = justifications.listed(state_of(policy), logins, start)
    emit(({"id": r["id"], "user": r["login"], "site": r["domain"], "host": r["host"],
           "categories": ",".join(json.loads(r["categories"])), "reason": r["reason"],
           "ref": r["ref"], "ip": r["client_ip"], "start": fmt_time(r["start"], tz),
           "end": fmt_time(r["end"], tz), "revoked_by": r["revoked_by"],
           "revoke_reason": r["revoke_reason"], "violation": bool(r["violation"])}
          for r in rows), COLUMNS, fmt)


@justify.command("revoke")
@click.argument("justification_id", type=int)
@click.option("--reason", default="", help="Why (needed with --violation).")
@click.option("--violation", is_flag=True,
              help="Count it as a violation (Art. 19): the site was not for work.")
@config_option
@operator_option
def justify_revoke(justification_id: int, reason: str, violation: bool, config: Path,
                   operator: str) -> None:
    """End a justification now; the site closes to its person at once."""
    policy = policy_of(config)
    service.revoke(state_of(policy), justification_id, operator, reason, violation)
    click.echo(f"justification #{justification_id} revoked"
               + (", counted as a violation" if violation else ""))
