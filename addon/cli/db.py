"""`guarita db`: the storage's schema (SQLite files, or the PostgreSQL the nodes share)."""

from __future__ import annotations

from pathlib import Path

import click

from addon.cli.common import config_option, policy_of
from addon.store.backup import backup as backup_databases
from addon.store.upgrade import upgrade as upgrade_schemas


@click.group("db")
def db_group() -> None:
    """The state and audit databases: create or migrate their schemas."""


@db_group.command()
@config_option
def upgrade(config: Path) -> None:
    """Create or migrate the state and audit schemas (storage.database, or the SQLite files)."""
    for line in upgrade_schemas(policy_of(config).paths):
        click.echo(line)


@db_group.command()
@click.argument("dest", type=click.Path(path_type=Path, file_okay=False))
@config_option
def backup(dest: Path, config: Path) -> None:
    """Copy state.db and audit.db into DEST while the proxy runs (SQLite's online backup);
    for PostgreSQL, says the pg_dump command to use."""
    for line in backup_databases(policy_of(config).paths, dest):
        click.echo(line)
