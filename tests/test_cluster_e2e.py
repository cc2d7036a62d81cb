"""Two real `guarita run` nodes sharing a real PostgreSQL; and PostgreSQL going away mid-load."""

from __future__ import annotations

import shutil
import time

import pytest
import yaml

from addon.store import pg
from tests.conftest import Workspace, start_proxy, use_postgres, wait_until
from tests.conftest import proxied_get as get

pytestmark = pytest.mark.e2e


def audited(url: str, like: str) -> int:
    conn = pg.connect(url)
    try:
        return int(conn.execute("SELECT count(*) FROM audit WHERE path LIKE ?", (like,))
                   .fetchone()[0])
    finally:
        conn.close()


def test_a_block_on_one_node_is_enforced_by_the_other_within_5_s(ws: Workspace, postgres) -> None:  # noqa: ANN001
    url = use_postgres(ws, postgres)
    up = ws.run("db", "upgrade", check=True).stdout
    assert "state: postgresql://" in up and "audit: postgresql://" in up and "revisions applied" in up
    assert "up to date" in ws.run("db", "upgrade", check=True).stdout
    a, b = start_proxy(ws), start_proxy(ws)
    try:
        ws.run("session", "login", "servidor", "127.0.0.1", check=True)
        wait_until(lambda: get(a, "/probe") == 200 and get(b, "/probe") == 200, timeout=5,
                   what="the session on both nodes")
        for i in range(30):
            assert get(a if i % 2 else b, f"/before/{i}") == 200
        ws.run("block", "machine", "127.0.0.1", "--reason", "incidente", check=True)
        blocked_at = time.monotonic()
        wait_until(lambda: get(b, "/after") == 403, timeout=5, what="node B enforcing the block")
        wait_until(lambda: get(a, "/after") == 403, timeout=5, what="node A enforcing the block")
        assert time.monotonic() - blocked_at < 5
    finally:
        for p in (a, b):
            p.stop()
            p.net.stop()
    assert audited(url, "/before/%") == 30  # both nodes' records, after a graceful stop
    conn = pg.connect(url)
    rules = {r[0] for r in conn.execute("SELECT rule FROM audit WHERE path = '/after'")}
    assert "blocked.machine" in rules  # (the polls before it took effect were allowed)


def test_postgresql_stopping_mid_load_loses_nothing(ws: Workspace, postgres) -> None:  # noqa: ANN001
    url = use_postgres(ws, postgres)
    p = start_proxy(ws)
    try:
        ws.run("session", "login", "servidor", "127.0.0.1", check=True)
        wait_until(lambda: get(p, "/probe") == 200, what="the session")
        for i in range(20):
            assert get(p, f"/up/{i}") == 200
        postgres.stop()
        try:
            # decided from the last snapshot; the records wait in the queue
            for i in range(50):
                assert get(p, f"/down/{i}") == 200
            assert get(p, "/", host="www.pornhub.com") == 403
        finally:
            postgres.start()
        wait_until(lambda: audited(url, "/down/%") == 50, timeout=30,
                   what="the queued records written once PostgreSQL is back")
        for i in range(10):
            assert get(p, f"/back/{i}") == 200
    finally:
        out = p.stop()
        p.net.stop()
    assert audited(url, "/up/%") == 20 and audited(url, "/back/%") == 10
    assert "cannot write" in out  # said once, in one line
    # the start-up line names where the log really is (issue 25: it named var/audit.db)
    assert "audit log postgresql://" in out and "audit.db" not in out


def test_a_category_edit_and_an_import_on_one_node_reach_the_other(
        ws: Workspace, postgres, tmp_path_factory: pytest.TempPathFactory) -> None:  # noqa: ANN001
    other = Workspace(tmp_path_factory.mktemp("node_b"))  # its own lists and state folder
    shutil.copytree(ws.root / "config", other.root / "config")
    shutil.copytree(ws.root / "categories", other.root / "categories")
    url = use_postgres(ws, postgres)
    tree = yaml.safe_load(other.config.read_text())
    other.config.write_text(yaml.safe_dump({**tree, "storage": {"database": url}},
                                           allow_unicode=True))
    a, b = start_proxy(ws), start_proxy(other)
    try:
        ws.run("session", "login", "servidor", "127.0.0.1", check=True)
        wait_until(lambda: get(b, "/", host="novo-jogo.example") == 200, timeout=5,
                   what="the session on node B")
        ws.run("categories", "add", "games", "novo-jogo.example", check=True)
        wait_until(lambda: get(b, "/", host="novo-jogo.example") == 403, timeout=5,
                   what="node B following node A's category edit")
        ut1 = ws.root / "ut1" / "blacklists" / "adult"
        ut1.mkdir(parents=True)
        (ut1 / "domains").write_text("importado.example\nxxx-importado.example\n")
        assert get(b, "/", host="importado.example") == 200
        ws.run("categories", "import", str(ws.root / "ut1"), check=True)
        wait_until(lambda: get(b, "/", host="importado.example") == 403, timeout=5,
                   what="node B following node A's import")
        ws.run("categories", "remove", "adult", "importado.example", check=True)
        wait_until(lambda: get(b, "/", host="importado.example") == 200, timeout=5,
                   what="node B following node A's exception")
        assert get(b, "/", host="xxx-importado.example") == 403
    finally:
        for p in (a, b):
            p.stop()
            p.net.stop()
    assert (other.var / "lists" / "adult" / "domains").read_text().startswith("importado.example")
