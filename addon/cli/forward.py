"""`guarita audit forward`: how each SIEM target of the policy stands (issue 29)."""

from __future__ import annotations

from pathlib import Path

import click

from addon.audit import query
from addon.cli.common import closing, config_option, emit, fmt_time, format_option, policy_of, state_of
from addon.forward.source import standing


@click.command("forward")
@format_option
@config_option
def forward(config: Path, fmt: str) -> None:
    """Each target of audit.forward: the last record and operation it has, and how many
    wait (they go out as soon as the receiver takes them)."""
    policy = policy_of(config)
    names = [t.name for t in policy.audit_forward]
    if not names:
        click.echo("no audit.forward targets in the policy", err=True)
        return
    state = state_of(policy)
    audit = query.open_readonly(policy.paths)
    if audit is not None:
        closing(audit)
    tz = policy.calendar.tz
    emit(({**row, "saved": fmt_time(row["saved"], tz)}
          for row in standing(audit, state, names)),
         ["target", "status", "audit_id", "admin_id", "behind_audit", "behind_admin", "saved"],
         fmt)
