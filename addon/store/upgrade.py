"""Applying the schema's revisions with Alembic: `guarita db upgrade`, and each start-up.

One history (addon/store/migrations/versions/) for both engines, in two branches: `state`
and `audit`. On SQLite they are two files (state.db, audit.db), each with its branch; on
PostgreSQL one database holds both. Alembic always runs on a connection opened here, in
one transaction per database, under the engine's write lock (env.py), so nodes starting
together never race. Only this module, the CLI and tests import SQLAlchemy and Alembic:
the proxy starts through `ready.prepare`, which runs this in a child process when needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from addon.errors import StateError
from addon.policy.paths import Paths
from addon.store.revisions import KNOWN, head, read_pg, read_sqlite, standing
from addon.store.url import redact

MIGRATIONS = Path(__file__).with_name("migrations")


def config(connection: Any, branches: frozenset[str], what: str) -> Any:
    """An Alembic Config with no alembic.ini: the script folder and the open connection."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes.update(connection=connection, branches=branches, what=what)
    return cfg


@contextmanager
def sqlite_engine(path: Path) -> Iterator[Any]:
    """An engine on one SQLite file whose transactions begin IMMEDIATE (SQLAlchemy's recipe
    for pysqlite: the driver's own transaction handling off, BEGIN emitted by the hook), so
    the DDL of a revision is inside the transaction and two migrators queue for the lock."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.pool import NullPool

    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool,
                           connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _connect(raw: Any, record: Any) -> None:
        raw.isolation_level = None
        raw.execute("PRAGMA journal_mode=WAL")

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def pg_engine(url: str) -> Iterator[Any]:
    """An engine whose connections psycopg opens from the URL itself (libpq reads it, as
    everywhere else in guarita, including its query parameters)."""
    import psycopg
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine("postgresql+psycopg://", poolclass=NullPool,
                           creator=lambda: psycopg.connect(url, connect_timeout=5))
    try:
        yield engine
    finally:
        engine.dispose()


def _run(engine: Any, branches: frozenset[str], what: str) -> set[str]:
    """Upgrade the branches of one database; its version rows before the upgrade."""
    from alembic import command

    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        before = read_pg(raw) if conn.dialect.name == "postgresql" else read_sqlite(raw)
        for branch in sorted(branches):
            found = standing(before, branch)
            if found.newer:
                raise StateError(f"{what}: schema revision {found.at} is newer than this "
                                 f"guarita knows ({head(branch)}); upgrade guarita")
        target = "heads" if len(branches) > 1 else f"{next(iter(branches))}@head"
        command.upgrade(config(conn, branches, what), target)
        conn.commit()
    return before


def upgrade_sqlite(path: Path, branch: str) -> int:
    """Bring one SQLite file's branch to its head; how many revisions were applied."""
    from sqlalchemy.exc import DBAPIError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite_engine(path) as engine:
            before = _run(engine, frozenset({branch}), str(path))
    except (DBAPIError, OSError) as exc:
        raise StateError(f"{path}: cannot upgrade the {branch} database: {_message(exc)}") from exc
    return standing(before, branch).behind


def upgrade_pg(url: str) -> dict[str, int]:
    """Bring both branches of a PostgreSQL database to their heads; revisions applied each."""
    from sqlalchemy.exc import DBAPIError

    shown = redact(url)
    try:
        with pg_engine(url) as engine:
            before = _run(engine, frozenset(KNOWN), shown)
    except DBAPIError as exc:
        raise StateError(f"{shown}: cannot upgrade the database: {_message(exc)}") from exc
    return {branch: standing(before, branch).behind for branch in KNOWN}


def upgrade(paths: Paths) -> list[str]:
    """Bring both schemas of `paths` to this guarita's heads; one line per schema."""
    if paths.database:
        shown = redact(paths.database)
        return [_line(branch, shown, n) for branch, n in upgrade_pg(paths.database).items()]
    return [_line(branch, str(path), upgrade_sqlite(path, branch))
            for branch, path in (("state", paths.state_file),
                                 ("audit", paths.audit_file))]


def _message(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return " ".join(str(orig).split()) or type(orig).__name__


def _line(branch: str, where: str, applied: int) -> str:
    done = (f"{applied} revision{'s' if applied != 1 else ''} applied" if applied
            else "up to date")
    return f"{branch}: {where}: {done} (revision {head(branch)})"
