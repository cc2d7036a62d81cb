"""store.ready: databases are made at a component's start; a connection only checks."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from addon.audit.schema import open_audit
from addon.errors import StateError
from addon.settings.load import load_policy
from addon.state import db
from addon.store import ready, upgrade
from addon.store.baseline import state as old_state
from addon.store.revisions import head
from tests.conftest import Workspace


def test_a_connection_never_makes_a_database_it_says_how_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(StateError) as err:
        db.connect(tmp_path)
    assert "state schema is not made yet" in str(err.value) and "guarita db upgrade" in str(err.value)
    assert not (tmp_path / "state.db").exists()  # nothing written
    with pytest.raises(StateError, match="audit schema is not made yet"):
        open_audit(tmp_path / "audit.db")
    assert not (tmp_path / "audit.db").exists()


def test_a_connection_refuses_a_schema_behind_or_newer(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    old = sqlite3.connect(path, isolation_level=None)
    for step in old_state.SQLITE_STEPS[:4]:  # as the numbered steps left it
        step(old)
    old.execute("PRAGMA user_version = 4")
    old.close()
    with pytest.raises(StateError, match="not made yet, this guarita needs"):
        db.connect(tmp_path)
    upgrade.upgrade_sqlite(path, "state")
    newer = sqlite3.connect(path)
    newer.execute("UPDATE guarita_alembic_version SET version_num = 's9999'")
    newer.commit()
    with pytest.raises(StateError, match="revision s9999 is newer"):
        db.connect(tmp_path)


def test_ensure_makes_both_and_then_reads_only(ws: Workspace,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    paths = load_policy(ws.config, ws.root, env={}).paths
    lines = ready.ensure(paths)
    assert [line.split(":")[0] for line in lines] == ["state", "audit"]
    monkeypatch.setattr(upgrade, "upgrade", lambda paths: pytest.fail("upgraded again"))
    assert ready.ensure(paths) == []
    db.connect(paths).close()


def test_the_check_is_read_once_per_process(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    upgrade.upgrade_sqlite(tmp_path / "state.db", "state")
    reads: list[int] = []
    real = ready.read_sqlite
    monkeypatch.setattr(ready, "read_sqlite", lambda raw: reads.append(1) or real(raw))
    for _ in range(3):
        db.connect(tmp_path).close()
    assert reads == [1]


def test_guarita_run_prepares_in_a_child_and_keeps_alembic_out_of_the_proxy(
        ws: Workspace) -> None:
    code = ("import json, sys; from pathlib import Path\n"
            "from addon.settings.load import load_policy\nfrom addon.store import ready\n"
            f"config = Path({str(ws.config)!r}); paths = load_policy(config).paths\n"
            "ready.prepare(paths, config)\n"
            "print(json.dumps([m for m in ('sqlalchemy', 'alembic') if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=ws.root)
    assert json.loads(done.stdout) == []
    conn = sqlite3.connect(ws.var / "state.db")
    assert conn.execute("SELECT version_num FROM guarita_alembic_version").fetchone() == (
        head("state"),)


def test_a_child_that_cannot_upgrade_is_one_line(ws: Workspace) -> None:
    ws.var.mkdir()
    sqlite3.connect(ws.var / "state.db").execute("PRAGMA user_version = 99")
    paths = load_policy(ws.config, ws.root, env={}).paths
    with pytest.raises(StateError) as err:
        ready.prepare(paths, ws.config)
    assert "schema version 99 is newer" in str(err.value) and "\n" not in str(err.value)
    cp = ws.run("run", "--listen-port", "0", "--metrics-port", "0")
    assert cp.returncode == 2 and "schema version 99 is newer" in cp.stderr
    assert "Traceback" not in cp.stderr
