"""`guarita block` / `guarita unblock`: level 0 at once for a user or machine (Art. 19)."""

from __future__ import annotations

from pathlib import Path

import click

from addon.cli.common import (
    config_option,
    emit,
    fmt_time,
    format_option,
    operator_option,
    policy_of,
    state_of,
)
from addon.identity.registry import make_directory
from addon.service import admin
from addon.state import blocks


@click.group()
def block() -> None:
    """Block a user account or a machine (Art. 9 §4 I, Art. 11 §7, Art. 19)."""


@click.group()
def unblock() -> None:
    """Lift a block; records who authorised it (Art. 9 §4 I)."""


def _do_block(kind: blocks.Kind, subject: str, reason: str, config: Path, operator: str) -> None:
    policy = policy_of(config)
    bid, unchecked = admin.block(state_of(policy), make_directory(policy), operator,
                                 {"tipo": kind, "alvo": subject, "motivo": reason})
    if unchecked is not None:  # an incident does not wait for the directory
        click.echo(f"guarita: warning: login {subject!r} not checked ({unchecked}); blocked it",
                   err=True)
    click.echo(f"blocked {kind} {subject} (block #{bid}); the proxy applies it within seconds")


def _do_unblock(kind: blocks.Kind, subject: str, authorized_by: str, config: Path,
                operator: str) -> None:
    policy = policy_of(config)
    admin.unblock(state_of(policy), operator,
                  {"tipo": kind, "alvo": subject, "autorizado_por": authorized_by})
    click.echo(f"unblocked {kind} {subject}, authorised by {authorized_by}")


@block.command("user")
@click.argument("user")
@click.option("--reason", required=True, help="Why (shown to the user and kept for audit).")
@config_option
@operator_option
def block_user(user: str, reason: str, config: Path, operator: str) -> None:
    """Put USER on level 0."""
    _do_block("user", user, reason, config, operator)


@block.command("machine")
@click.argument("ip")
@click.option("--reason", required=True, help="Why (shown on the block page and kept for audit).")
@config_option
@operator_option
def block_machine(ip: str, reason: str, config: Path, operator: str) -> None:
    """Put machine IP on level 0."""
    _do_block("machine", ip, reason, config, operator)


@block.command("list")
@click.option("--all", "include_lifted", is_flag=True, help="Include lifted blocks.")
@format_option
@config_option
def block_list(include_lifted: bool, config: Path, fmt: str) -> None:
    """Active blocks (and, with --all, lifted ones)."""
    policy = policy_of(config)
    tz = policy.calendar.tz
    emit(({**dict(r), "created": fmt_time(r["created"], tz), "lifted": fmt_time(r["lifted"], tz)}
          for r in blocks.listing(state_of(policy), include_lifted)),
         ["id", "kind", "subject", "reason", "operator", "created", "lifted", "authorized_by"], fmt)


@unblock.command("user")
@click.argument("user")
@click.option("--authorized-by", required=True, help="Who authorised lifting it.")
@config_option
@operator_option
def unblock_user(user: str, authorized_by: str, config: Path, operator: str) -> None:
    """Lift the block of USER."""
    _do_unblock("user", user, authorized_by, config, operator)


@unblock.command("machine")
@click.argument("ip")
@click.option("--authorized-by", required=True, help="Who authorised lifting it.")
@config_option
@operator_option
def unblock_machine(ip: str, authorized_by: str, config: Path, operator: str) -> None:
    """Lift the block of machine IP."""
    _do_unblock("machine", ip, authorized_by, config, operator)
