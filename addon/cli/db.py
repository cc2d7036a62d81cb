"""`guarita db`: the storage's schema (SQLite files, or the PostgreSQL the nodes share)."""

from __future__ import annotations

from pathlib import Path

import click

from addon.cli.common import config_option, policy_of, progress
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
@click.argument("dest", metavar="FILE", type=click.Path(path_type=Path))
@config_option
def backup(dest: Path, config: Path) -> None:
    """Copy state.db and audit.db into one SQLite FILE while the proxy runs (SQLite's online
    backup; FILE is replaced only by a checked copy); for PostgreSQL, use pg_dump."""
    for line in backup_databases(policy_of(config).paths, dest):
        click.echo(line)


@db_group.command()
@click.option("--to", "url", required=True, metavar="postgresql://…",
              help="The PostgreSQL the nodes will share (its password: PGPASSWORD or ~/.pgpass).")
@config_option
def copy(url: str, config: Path) -> None:
    """Copy the embedded SQLite state and audit log into PostgreSQL, keeping every id.

    Safe to run again and to interrupt: it resumes where it stopped and never copies a row
    twice. Exit 1 when a table of the target misses rows of the source."""
    from addon.store.copy import copy_to, total_rows  # psycopg: only for this verb

    paths = policy_of(config).paths
    with progress("copying", total_rows(paths)) as bar:
        counted = copy_to(paths, url, bar.update)
    for c in counted:
        click.echo(c.line)
    if any(c.target < c.source for c in counted):
        raise SystemExit(1)
