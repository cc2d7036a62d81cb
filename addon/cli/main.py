"""Entry point: the click group, and the edge where errors become one line and exit 2."""

from __future__ import annotations

import os
import sys

import click

from addon import __version__
from addon.errors import GuaritaError
from addon.store.seam import StoreError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="guarita")
def cli() -> None:
    """guarita: web access control for mitmproxy, after Ordem de Serviço 03/2018."""


def _register() -> None:
    from addon.cli.audit import audit
    from addon.cli.block import block, unblock
    from addon.cli.ca import ca_group
    from addon.cli.categories import categories
    from addon.cli.check import check
    from addon.cli.console import console
    from addon.cli.db import db_group
    from addon.cli.deploy import deploy
    from addon.cli.forward import forward
    from addon.cli.justify import justify
    from addon.cli.notify import notify
    from addon.cli.pac import pac
    from addon.cli.release import release
    from addon.cli.run import run
    from addon.cli.session import session

    for command in (run, check, categories, session, block, unblock, release, audit, ca_group,
                    notify, console, pac, db_group, forward, deploy, justify):
        cli.add_command(command)


def _short_helps(group: click.Group) -> None:
    """Give every command its whole first sentence as its line in the command list.

    click cuts the line at the first ". ", which our texts have inside "(Art. 9 §10)":
    the list read "Temporary releases (Art." with the rest lost.
    """
    for command in group.commands.values():
        if command.short_help is None and command.help:
            first = command.help.strip().split("\n\n", 1)[0]
            command.short_help = " ".join(first.split()).replace("\b ", "")
        if isinstance(command, click.Group):
            _short_helps(command)


_register()
_short_helps(cli)


# the service layer's fields (addon/service/*), as the command line's options name them
FLAGS = {"motivo": "--reason", "autorizado_por": "--authorized-by", "alvo": "the target",
         "usuario": "--to", "ate": "--until", "comite": "--committee-ref", "site": "--domain",
         "dias": "--days", "justificativa": "--reason", "analise": "--analysis-ref",
         "data": "--date", "inicio": "--start", "fim": "--end"}


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        # one line that names the problem and where the help is, not click's usage block
        where = exc.ctx.command_path if exc.ctx is not None else "guarita"
        click.echo(f"guarita: error: {exc.format_message()} (see '{where} --help')", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        click.echo(f"guarita: error: {exc.format_message()}", err=True)
        sys.exit(2)
    except click.Abort:
        sys.exit(130)
    except GuaritaError as exc:
        field = getattr(exc, "field", None)  # InvalidInput: a field, as this door names it
        if field is not None:
            click.echo(f"guarita: error: {FLAGS.get(field, field)}: {exc.reason}", err=True)  # type: ignore[attr-defined]
            sys.exit(2)
        for mistake in str(exc).splitlines():  # a policy with three mistakes: three lines
            click.echo(f"guarita: error: {mistake}", err=True)
        sys.exit(2)
    except StoreError as exc:
        click.echo(f"guarita: error: database: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # a bug: one line, and the traceback only when asked for
        if os.environ.get("GUARITA_DEBUG"):
            raise
        click.echo(f"guarita: internal error: {type(exc).__name__}: {exc} "
                   "(set GUARITA_DEBUG=1 for the traceback)", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
