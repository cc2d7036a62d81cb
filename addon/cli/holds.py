"""`guarita audit hold add | list | release`: legal holds on the audit log (issue 26)."""

from __future__ import annotations

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
from addon.errors import GuaritaError
from addon.state import holds


@click.group()
def hold() -> None:
    """Legal holds: a person's or a machine's records kept past the retention for a case."""


@hold.command("add")
@click.option("--case", "case_ref", required=True, help="The case the records serve.")
@click.option("--user", help="Keep this login's records.")
@click.option("--ip", help="Keep this machine's records.")
@click.option("--until", help="Keep them until this date (ISO-8601); none: until released.")
@click.option("--reason", required=True, help="Why (kept in the admin history).")
@config_option
@operator_option
def hold_add(case_ref: str, user: str | None, ip: str | None, until: str | None, reason: str,
             config: Path, operator: str) -> None:
    """Keep the records of --user or --ip past the retention."""
    if (user is None) == (ip is None):
        raise GuaritaError("give exactly one of --user or --ip")
    policy = policy_of(config)
    end = parse_time(until, policy.calendar.tz, "--until") if until else None
    kind: holds.Kind = "user" if user is not None else "ip"
    hid = holds.add(state_of(policy), case_ref, kind, user or ip or "", end, reason, operator)
    click.echo(f"hold #{hid}: the records of {kind} {user or ip} are kept for case {case_ref}"
               + (f" until {until}" if until else " until released"))


@hold.command("list")
@click.option("--all", "include_released", is_flag=True, help="Include released holds.")
@format_option
@config_option
def hold_list(include_released: bool, config: Path, fmt: str) -> None:
    """Open holds (and, with --all, released ones)."""
    policy = policy_of(config)
    tz = policy.calendar.tz
    emit(({**dict(r), "until": fmt_time(r["until"], tz), "created": fmt_time(r["created"], tz),
           "released": fmt_time(r["released"], tz)}
          for r in holds.listing(state_of(policy), include_released)),
         ["id", "case_ref", "kind", "subject", "until", "reason", "operator", "created",
          "released", "released_by"], fmt)


@hold.command("release")
@click.argument("hold_id", type=int)
@click.option("--authorized-by", required=True, help="Who authorised releasing it.")
@config_option
@operator_option
def hold_release(hold_id: int, authorized_by: str, config: Path, operator: str) -> None:
    """Release a hold: its records follow the retention again."""
    policy = policy_of(config)
    holds.release(state_of(policy), hold_id, authorized_by, operator)
    click.echo(f"hold #{hold_id} released, authorised by {authorized_by}")
