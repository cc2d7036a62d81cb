"""`guarita session`: which user is logged in at which machine (fed by logon scripts)."""

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
from addon.identity.registry import make_directory
from addon.policy.hosts import canonical_ip
from addon.state import sessions


@click.group()
def session() -> None:
    """Login sessions: the map from a machine's address to its logged-in user."""


@session.command()
@click.argument("user")
@click.argument("ip")
@click.option("--until", help="ISO-8601 end of the session (default: until logout).")
@config_option
@operator_option
def login(user: str, ip: str, until: str | None, config: Path, operator: str) -> None:
    """Record that USER is logged in at machine IP."""
    policy = policy_of(config)
    make_directory(policy).lookup(user)  # an unknown user is an error, not a session
    end = parse_time(until, policy.calendar.tz, "--until") if until else None
    conn = state_of(policy)
    sessions.login(conn, user, ip, end, operator)
    click.echo(f"{user.lower()} logged in at {canonical_ip(ip)}"
               + (f" until {fmt_time(end, policy.calendar.tz)}" if end else ""))


@session.command()
@click.argument("ip")
@config_option
@operator_option
def logout(ip: str, config: Path, operator: str) -> None:
    """End the session of machine IP (it falls back to level 0)."""
    policy = policy_of(config)
    conn = state_of(policy)
    if not sessions.logout(conn, ip, operator):
        click.echo(f"no session at {canonical_ip(ip)}")
        return
    click.echo(f"logged out {canonical_ip(ip)}")


@session.command("list")
@format_option
@config_option
def list_(config: Path, fmt: str) -> None:
    """Every recorded session, expired ones included (marked)."""
    policy = policy_of(config)
    conn = state_of(policy)
    tz = policy.calendar.tz
    live = sessions.active(conn)
    emit(
        ({"ip": r["ip"], "user": r["user"], "since": fmt_time(r["since"], tz),
          "until": fmt_time(r["until"], tz), "state": "active" if r["ip"] in live else "expired",
          "source": r["source"]} for r in sessions.listing(conn)),
        ["ip", "user", "since", "until", "state", "source"],
        fmt,
    )
