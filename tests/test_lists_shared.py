"""Category lists shared through a real PostgreSQL: publish on one node, sync on another."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

from addon.lists import shared
from addon.policy.paths import Paths
from addon.state import db
from tests.support.store import made


def node(root: Path, url: str = "") -> Paths:
    return Paths((root / "categories",), root / "var" / "lists", root / "var", database=url)


def test_keys_name_the_tier_and_never_leave_it(tmp_path: Path) -> None:
    p = node(tmp_path)
    assert shared.key_of(p, tmp_path / "var" / "lists" / "adult" / "domains") == \
        "imported/adult/domains"
    assert shared.key_of(p, tmp_path / "categories" / "games" / "domains") == \
        "curated0/games/domains"
    assert shared.key_of(p, tmp_path / "var" / "exceptions" / "adult" / "domains") == \
        "exceptions/adult/domains"
    assert shared.key_of(p, tmp_path / "elsewhere" / "domains") is None
    assert shared.path_of(p, "imported/adult/domains") == tmp_path / "var/lists/adult/domains"
    for bad in ("imported/../../etc/domains", "imported/../domains", "imported/a/b/domains",
                "imported/adult/passwd", "other/adult/domains"):
        assert shared.path_of(p, bad) is None


def test_without_a_shared_database_nothing_is_published(tmp_path: Path) -> None:
    f = tmp_path / "categories" / "games" / "domains"
    f.parent.mkdir(parents=True)
    f.write_text("jogo.example\n")
    assert shared.publish(node(tmp_path), [f]) == 0


def test_a_list_published_by_one_node_is_written_on_the_other(tmp_path: Path, postgres) -> None:  # noqa: ANN001
    url = postgres.create_database("lists_shared")
    a, b = node(tmp_path / "a", url), node(tmp_path / "b", url)
    f = a.imported_dir / "adult" / "domains"
    f.parent.mkdir(parents=True)
    f.write_text("x.example\n" * 1000)
    conn = made(b)
    before = db.data_version(conn)
    assert shared.publish(a, [f, tmp_path / "a" / "not-a-list"]) == 1
    assert db.data_version(conn) > before  # every node's reloader notices
    assert shared.sync(conn, b) == ["imported/adult/domains"]
    assert (b.imported_dir / "adult" / "domains").read_text() == f.read_text()
    assert shared.sync(conn, b) == []  # up to date: nothing fetched again
    stored = conn.execute("SELECT length(content) FROM list_files").fetchone()[0]
    assert stored < 200  # compressed, stored once


def test_a_row_whose_content_does_not_match_its_hash_is_not_used(tmp_path: Path,
                                                                 postgres) -> None:  # noqa: ANN001
    url = postgres.create_database("lists_tampered")
    b = node(tmp_path, url)
    conn = made(b)
    with conn:
        conn.execute("INSERT INTO list_files (key, sha256, content, updated) VALUES (?, ?, ?, 0)",
                     ("imported/adult/domains", "0" * 64, zlib.compress(b"evil.example\n")))
    assert shared.sync(conn, b) == []
    assert not (b.imported_dir / "adult" / "domains").exists()


@pytest.mark.parametrize("tier", ["curated0", "exceptions"])
def test_every_tier_round_trips(tmp_path: Path, postgres, tier: str) -> None:  # noqa: ANN001
    url = postgres.create_database(f"lists_{tier}")
    a, b = node(tmp_path / "a", url), node(tmp_path / "b", url)
    src = shared.path_of(a, f"{tier}/games/domains")
    assert src is not None
    src.parent.mkdir(parents=True)
    src.write_text("jogo.example\n")
    conn = made(b)  # the database made, as by the first node's start
    shared.publish(a, [src])
    assert shared.sync(conn, b) == [f"{tier}/games/domains"]


def test_an_edit_while_the_database_is_away_changes_nothing(ws, postgres) -> None:  # noqa: ANN001
    """Issue 25: `categories add` exited 2 but had already rewritten this node's list."""
    import yaml

    from addon.policy.categories import read_list
    from tests.conftest import free_port

    tree = yaml.safe_load(ws.config.read_text())
    tree["storage"] = {"database": f"postgresql://guarita@127.0.0.1:{free_port()}/gone"}
    ws.config.write_text(yaml.safe_dump(tree, allow_unicode=True))
    games = ws.root / "categories" / "games" / "domains"
    before = games.read_bytes()
    listed = next(iter(read_list(games)))
    for verb, host in (("add", "www.jogos-exemplo.com.br"), ("remove", listed)):
        cp = ws.run("categories", verb, "games", host)
        assert cp.returncode == 2 and "Traceback" not in cp.stderr, cp.stderr
        assert "database" in cp.stderr
    assert games.read_bytes() == before
    assert not [p for p in games.parent.iterdir() if p.name.startswith(".domains-")]


def test_an_edit_reaches_the_database_and_the_file_together(ws, postgres) -> None:  # noqa: ANN001
    from tests.conftest import use_postgres

    url = use_postgres(ws, postgres)
    ws.run("categories", "add", "games", "www.jogos-exemplo.com.br", check=True)
    games = ws.root / "categories" / "games" / "domains"
    assert "www.jogos-exemplo.com.br" in games.read_text().split()
    p = node(ws.root, url)
    conn = made(p)
    try:
        stored = conn.execute("SELECT content FROM list_files WHERE key = ?",
                              ("curated0/games/domains",)).fetchone()
        assert zlib.decompress(bytes(stored[0])) == games.read_bytes()
    finally:
        conn.close()
