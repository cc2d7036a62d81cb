"""`guarita notify`: try the mail server, look at the outbox, send what is due now."""

from __future__ import annotations

from pathlib import Path

import click

from addon.audit import query
from addon.cli.common import closing, config_option, emit, fmt_time, format_option, policy_of, state_of
from addon.identity.registry import make_directory
from addon.notify import messages, outbox
from addon.notify.smtp import Session, build
from addon.notify.worker import tick


@click.group("notify")
def notify() -> None:
    """E-mail notifications: Art. 19 digests and the release loop."""


@notify.command("test")
@click.argument("address")
@config_option
def test(address: str, config: Path) -> None:
    """Send a test message to ADDRESS now, through the policy's mail server."""
    policy = policy_of(config)
    subject, body = messages.test_message()
    session = Session(policy.notify.smtp)
    try:
        session.send(build(policy.notify.smtp, [address], subject, body, f"test:{address}"))
    finally:
        session.close()
    click.echo(f"sent to {address} through {policy.notify.smtp.host}:{policy.notify.smtp.port}")


@notify.command("outbox")
@click.option("--status", type=click.Choice(["pending", "sent", "failed"]))
@click.option("--limit", type=click.IntRange(1), default=100, show_default=True)
@format_option
@config_option
def outbox_cmd(status: str | None, limit: int, fmt: str, config: Path) -> None:
    """The queued notifications (pending, sent, failed), newest first, with their errors."""
    policy = policy_of(config)
    conn = state_of(policy)
    tz = policy.calendar.tz
    counts = outbox.counts(conn)
    rows = outbox.listing(conn, status, limit)
    for r in rows:
        for k in ("created", "next_try", "sent"):
            r[k] = fmt_time(r[k], tz) if r[k] else "-"
        r["to"] = r.pop("address") or f"{r['to_kind']}:{r['to_value']}"
    emit(rows, ["id", "created", "status", "tries", "kind", "to", "subject", "next_try",
                "sent", "error"], fmt)
    if fmt == "table":
        click.echo(f"{counts['pending']} pending, {counts['sent']} sent, "
                   f"{counts['failed']} failed", err=True)


@notify.command("flush")
@config_option
def flush(config: Path) -> None:
    """One round now: expiry warnings, the Art. 19 digest when due, and send what is due."""
    policy = policy_of(config)
    if not policy.notify.enabled:
        raise click.ClickException("notifications are off: add a `notifications:` section "
                                   "to the policy")
    state = state_of(policy)
    audit = query.open_readonly(policy.paths)  # None: no audit log yet
    if audit is not None:
        closing(audit)
    out = tick(state, audit, policy, make_directory(policy))
    click.echo(f"queued {out.queued}, sent {out.sent}, retried {out.retried}, "
               f"failed {out.failed}, postponed {out.postponed}")
    for e in out.errors[-3:]:
        click.echo(f"  {e}", err=True)
