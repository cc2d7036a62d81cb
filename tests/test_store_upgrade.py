"""store.upgrade: the one Alembic history applied to real SQLite files and a real PostgreSQL.

Among them the issue's proof: a database at the previous schema gains a state column and an
audit column written the documented way (one revision each, batch mode), on both engines.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from addon.errors import StateError
from addon.store import ready, upgrade
from addon.store.revisions import KNOWN, head
from tests.conftest import Workspace

WITNESS = textwrap.dedent('''\
    """The test's witness columns: {branch} gains one, the way docs/architecture.md says."""
    import sqlalchemy as sa
    from alembic import op

    revision = "{rev}"
    down_revision = "{down}"
    branch_labels = None
    depends_on = None


    def upgrade() -> None:
        with op.batch_alter_table("{table}") as batch:
            batch.add_column(sa.Column("witness", sa.Text))
        {then}
    ''')


def with_revisions(tmp_path: Path, *sources: tuple[str, str]) -> list[str]:
    """A version folder beside the shipped one, holding the test's revisions."""
    extra = tmp_path / "versions"
    extra.mkdir(exist_ok=True)
    for name, text in sources:
        (extra / f"{name}.py").write_text(text)
    return [str(upgrade.MIGRATIONS / "versions"), str(extra)]


def run_with(engine, branches: frozenset[str], locations: list[str], target: str) -> None:  # noqa: ANN001
    from alembic import command

    with engine.connect() as conn:
        cfg = upgrade.config(conn, branches, "test")
        cfg.set_main_option("path_separator", "os")
        cfg.set_main_option("version_locations", os.pathsep.join(locations))
        command.upgrade(cfg, target)
        conn.commit()


def test_db_upgrade_makes_both_schemas_once_and_then_says_up_to_date(ws: Workspace) -> None:
    first = ws.run("db", "upgrade", check=True).stdout.splitlines()
    n = len(KNOWN["state"])
    assert first[0].startswith("state: ") and \
        first[0].endswith(f"state.db: {n} revisions applied (revision {head('state')})")
    assert first[1].startswith("audit: ") and \
        f"audit.db: {len(KNOWN['audit'])} revisions applied" in first[1]
    again = ws.run("db", "upgrade", check=True).stdout
    assert again.count("up to date") == 2
    conn = sqlite3.connect(ws.var / "audit.db")
    assert conn.execute("SELECT version_num FROM guarita_alembic_version").fetchall() == [
        (head("audit"),)]


def test_a_database_from_a_newer_guarita_is_refused_in_one_line(ws: Workspace) -> None:
    ws.var.mkdir()
    sqlite3.connect(ws.var / "state.db").execute("PRAGMA user_version = 99")
    cp = ws.run("db", "upgrade")
    assert cp.returncode == 2 and "schema version 99 is newer" in cp.stderr
    assert "Traceback" not in cp.stderr and len(cp.stderr.strip().splitlines()) == 1
    newer = sqlite3.connect(ws.var / "audit.db")
    newer.execute("CREATE TABLE guarita_alembic_version (version_num TEXT PRIMARY KEY)")
    newer.execute("INSERT INTO guarita_alembic_version VALUES ('a9999')")
    newer.commit()
    with pytest.raises(StateError, match="revision a9999 is newer than this guarita knows"):
        upgrade.upgrade_sqlite(ws.var / "audit.db", "audit")


def test_a_failing_revision_leaves_the_database_at_the_last_good_one(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    upgrade.upgrade_sqlite(path, "state")
    broken = WITNESS.format(branch="state", rev="s9001", down=head("state"), table="releases",
                            then='op.execute("CREATE TABLE half (a)")\n'
                                 '    raise RuntimeError("power cut")')
    locations = with_revisions(tmp_path, ("s9001_broken", broken))
    with upgrade.sqlite_engine(path) as engine, pytest.raises(RuntimeError, match="power cut"):
        run_with(engine, frozenset({"state"}), locations, "state@head")
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version_num FROM guarita_alembic_version").fetchall() == [
        (head("state"),)]
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "half" not in names  # the DDL was inside the transaction
    assert "witness" not in {r[1] for r in conn.execute("PRAGMA table_info(releases)")}


@pytest.mark.parametrize("engine_kind", ["sqlite", "postgresql"])
def test_a_column_added_the_documented_way_reaches_a_database_at_the_previous_schema(
        tmp_path: Path, engine_kind: str, request: pytest.FixtureRequest) -> None:
    """The previous schema (the numbered steps' last) gains a state column and an audit
    column, each a revision of its own; rows written before keep theirs."""
    from addon.store.baseline import audit as old_audit
    from addon.store.baseline import state as old_state

    sources = [
        ("s9001_witness", WITNESS.format(branch="state", rev="s9001", down=head("state"),
                                         table="releases", then="")),
        ("a9001_witness", WITNESS.format(branch="audit", rev="a9001", down=head("audit"),
                                         table="audit", then="")),
    ]
    locations = with_revisions(tmp_path, *sources)
    if engine_kind == "sqlite":
        state_file, audit_file = tmp_path / "state.db", tmp_path / "audit.db"
        for path, steps in ((state_file, old_state.SQLITE_STEPS),
                            (audit_file, old_audit.SQLITE_STEPS)):
            old = sqlite3.connect(path, isolation_level=None)  # as the numbered steps left it
            for step in steps:
                step(old)
            old.execute(f"PRAGMA user_version = {len(steps)}")
            old.close()
        old = sqlite3.connect(audit_file)
        old.execute("INSERT INTO audit (ts, ref) VALUES (1, 'antes')")
        old.commit()
        for path, branch in ((state_file, "state"), (audit_file, "audit")):
            with upgrade.sqlite_engine(path) as engine:
                run_with(engine, frozenset({branch}), locations, f"{branch}@head")
        state, audit = sqlite3.connect(state_file), sqlite3.connect(audit_file)
        audit.execute("INSERT INTO audit (ts, ref, witness) VALUES (2, 'depois', 'w1')")
    else:
        import psycopg

        url = request.getfixturevalue("postgres").create_database(f"documented_{os.getpid()}")
        with psycopg.connect(url, autocommit=True) as old:
            for script in (*old_state.PG_STEPS, *old_audit.PG_STEPS):
                old.execute(script)
            old.execute("CREATE TABLE guarita_schema (name TEXT PRIMARY KEY, version INTEGER)")
            old.execute("INSERT INTO guarita_schema VALUES ('state', %s), ('audit', %s)",
                        (len(old_state.PG_STEPS), len(old_audit.PG_STEPS)))
            old.execute("INSERT INTO audit (ts, ref) VALUES (1, 'antes')")
        with upgrade.pg_engine(url) as engine:
            run_with(engine, frozenset({"state", "audit"}), locations, "heads")
        state = audit = psycopg.connect(url, autocommit=True)  # type: ignore[assignment]
        with audit.cursor() as cur, cur.copy('COPY audit (ts, ref, witness) FROM STDIN') as copy:
            copy.write_row((2.0, "depois", "w1"))
    mark = "?" if engine_kind == "sqlite" else "%s"
    state.execute("INSERT INTO releases (kind, target_kind, target, obj, start, \"end\", status, "
                  "reason, requested_by, created, updated, witness) VALUES ('domain', 'user', "
                  f"'ana', 'x.gov.br', 0, 1, 'active', 'r', 'ti', 0, 0, {mark})", ("w-state",))
    assert state.execute("SELECT witness FROM releases").fetchall() == [("w-state",)]
    assert audit.execute("SELECT ref, witness FROM audit ORDER BY ts").fetchall() == [
        ("antes", None), ("depois", "w1")]


@pytest.mark.parametrize("engine_kind", ["sqlite", "postgresql"])
def test_nodes_upgrading_together_apply_each_revision_once(
        tmp_path: Path, engine_kind: str, request: pytest.FixtureRequest) -> None:
    """Four processes start at once on a new database: the engine's lock queues them, and
    the revisions (whose steps fail if run twice) run once. (Processes, as nodes are:
    Alembic's `op` and `context` are per process, not per thread.)"""
    if engine_kind == "sqlite":
        call = f"upgrade.upgrade_sqlite(Path({str(tmp_path / 'state.db')!r}), 'state')"
    else:
        url = request.getfixturevalue("postgres").create_database(f"together_{os.getpid()}")
        call = f"upgrade.upgrade_pg({url!r})"
    code = f"from pathlib import Path\nfrom addon.store import upgrade\n{call}"
    starts = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
              for _ in range(4)]
    for proc in starts:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr  # and once more: up to date


def test_an_unreachable_server_is_one_line_without_the_password() -> None:
    from tests.conftest import free_port

    url = f"postgresql://guarita:segredo@127.0.0.1:{free_port()}/gone"
    with pytest.raises(StateError) as err:
        upgrade.upgrade_pg(url)
    assert "segredo" not in str(err.value) and "cannot upgrade the database" in str(err.value)
    assert "\n" not in str(err.value)
    with pytest.raises(StateError, match="cannot read the database"):
        ready.ensure_pg(url)
