"""`guarita db copy`: a populated SQLite installation moved to a real PostgreSQL, counted,
answering the same, idempotent, and resumed after an interruption."""

from __future__ import annotations

import json

import pytest
import yaml

from addon.audit.writer import AuditWriter
from addon.errors import StateError
from addon.settings.load import load_policy
from addon.store import copy as db_copy
from addon.store import pg
from tests.conftest import Workspace
from tests.test_audit import rec

RECORDS = 250


def populate(ws: Workspace) -> None:
    ws.run("session", "login", "servidor", "10.0.0.5", check=True)
    ws.run("block", "user", "estagiario", "--reason", "Art. 19", check=True)
    ws.run("release", "grant", "--to", "user:servidor", "--domain", "youtube.com", "--days", "3",
           "--reason", "curso", check=True)
    ws.run("release", "grant", "--to", "group:servidores", "--category", "video", "--days", "1",
           "--reason", "evento", check=True)
    writer = AuditWriter(load_policy(ws.config, ws.root, env={}).paths.audit_file,
                         flush_interval=0.01)
    for i in range(RECORDS):
        writer.submit(rec(i, user=f"u{i % 7}", ts=1_800_000_000 + i * 3600.0))
    assert writer.close() == 0


def on_postgres(ws: Workspace, url: str, *args: str) -> str:
    """The same CLI command, with the policy pointed at the PostgreSQL copy."""
    tree = yaml.safe_load(ws.config.read_text())
    pg_config = ws.config.with_name("pg.yaml")
    pg_config.write_text(yaml.safe_dump({**tree, "storage": {"database": url}},
                                        allow_unicode=True))
    return ws.run(*args, "--config", str(pg_config), check=True).stdout


@pytest.fixture
def url(postgres, tmp_path) -> str:  # noqa: ANN001
    return str(postgres.create_database(f"copy_{tmp_path.name}"[:60]))


def test_everything_arrives_and_answers_the_same(ws: Workspace, url: str) -> None:
    populate(ws)
    cp = ws.run("db", "copy", "--to", url, check=True)
    lines = dict(line.split(": ", 1) for line in cp.stdout.splitlines())
    assert lines["audit"] == f"{RECORDS} in the source, {RECORDS} copied now, {RECORDS} in the target: ok"
    assert lines["releases"].startswith("2 in the source, 2 copied now, 2 in the target")
    assert lines["sessions"].startswith("1 in the source") and lines["blocks"].startswith("1 ")
    admin = int(lines["admin_log"].split()[0])
    assert admin >= 4 and lines["admin_log"].endswith(": ok")
    for args in (("release", "list", "--format", "json"), ("session", "list", "--format", "json"),
                 ("audit", "query", "--user", "u3", "--limit", "1000", "--format", "json")):
        here = ws.run(*args, check=True).stdout
        assert json.loads(on_postgres(ws, url, *args)) == json.loads(here), args
    # the ids go on from where SQLite stopped: a new release on PostgreSQL does not collide
    on_postgres(ws, url, "release", "grant", "--to", "user:membro", "--domain", "x.gov.br",
                "--days", "2", "--reason", "novo")
    ids = [r["id"] for r in json.loads(on_postgres(ws, url, "release", "list", "--format", "json"))]
    assert sorted(ids) == [1, 2, 3]
    again = ws.run("db", "copy", "--to", url, check=True).stdout
    assert f"audit: {RECORDS} in the source, 0 copied now, {RECORDS} in the target: ok" in again
    assert "releases: 2 in the source, 0 copied now, 3 in the target: ok" in again


def test_an_interrupted_copy_resumes_without_duplicates(ws: Workspace, url: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    populate(ws)
    paths = load_policy(ws.config, ws.root, env={}).paths
    monkeypatch.setattr(db_copy, "CHUNK", 40)
    seen: list[int] = []

    def cut(n: int) -> None:
        seen.append(n)
        if sum(seen) > 100 and len(seen) > 3:
            raise KeyboardInterrupt  # the operator's Ctrl-C, or the machine going down

    with pytest.raises(KeyboardInterrupt):
        db_copy.copy_to(paths, url, cut)
    conn = pg.connect(url)
    partial = conn.execute("SELECT count(*) FROM audit").fetchone()[0]
    assert 0 < partial < RECORDS
    counted = {c.name: c for c in db_copy.copy_to(paths, url)}
    assert counted["audit"].target == RECORDS and counted["audit"].copied == RECORDS - partial
    assert conn.execute("SELECT count(DISTINCT id), count(*) FROM audit").fetchone() == (
        RECORDS, RECORDS)
    assert db_copy.total_rows(paths) == sum(c.source for c in counted.values())
    conn.close()


def test_bad_targets_are_one_line(ws: Workspace) -> None:
    paths = load_policy(ws.config, ws.root, env={}).paths
    with pytest.raises(StateError, match="--to: must be a postgresql:// URL"):
        db_copy.copy_to(paths, "mysql://x")
    with pytest.raises(StateError, match="no state.db or audit.db to copy"):
        db_copy.copy_to(paths, "postgresql://g@127.0.0.1:1/g")
    ws.run("session", "login", "servidor", "10.0.0.5", check=True)
    cp = ws.run("db", "copy", "--to", "postgresql://g@127.0.0.1:1/g")
    assert cp.returncode == 2 and len(cp.stderr.splitlines()) == 1 and "cannot connect" in cp.stderr
