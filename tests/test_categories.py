"""The compiled category index (Art. 9 §8): most specific entry wins, no label-boundary leaks."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from addon.lists.compiler import compile_index, load_or_compile
from addon.policy.categories import CategoryIndex, fingerprint
from addon.policy.hosts import normalize_host


def write_lists(root: Path, lists: dict[str, str]) -> Path:
    for name, body in lists.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        (root / name / "domains").write_text(body)
    return root


@pytest.fixture
def index(tmp_path: Path) -> CategoryIndex:
    src = write_lists(tmp_path / "lists", {
        "social_networks": "# comment\nfacebook.com\n.instagram.com\nFACEBOOK.com.\n",
        "search": "google.com\n",
        "filehosting": "drive.google.com\n",
        "doh": "1.1.1.1\n2130706434\n",
        "junk": "not a host\n\n#x\nbücher.de\n",
    })
    return load_or_compile([src], tmp_path / "idx")


def test_entry_covers_subdomains_and_most_specific_wins(index: CategoryIndex) -> None:
    """Art. 9 §8: IT can classify drive.google.com apart from google.com."""
    assert index.categories_of("www.facebook.com") == ("social_networks",)
    assert index.categories_of("google.com") == ("search",)
    assert index.categories_of("drive.google.com") == ("filehosting",)
    assert index.categories_of("x.drive.google.com") == ("filehosting",)
    assert index.lookup("a.instagram.com").entry == "instagram.com"  # leading dot in the list


def test_label_boundaries(index: CategoryIndex) -> None:
    for host in ("notfacebook.com", "facebook.com.example.net", "facebook.co", "com"):
        assert index.lookup(host) is None


def test_ip_entries_and_idn(index: CategoryIndex) -> None:
    assert index.categories_of("1.1.1.1") == ("doh",)
    assert index.categories_of("127.0.0.2") == ("doh",)  # listed as 2130706434
    assert index.categories_of(normalize_host("BÜCHER.de")) == ("junk",)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # read-only fixture
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20))
def test_a_listed_name_never_matches_across_a_label(index: CategoryIndex, prefix: str) -> None:
    prefix = prefix.strip("-") or "a"
    assert index.lookup(prefix + "facebook.com") is None
    assert index.lookup(f"facebook.com.{prefix}.net") is None
    assert index.categories_of(f"{prefix}.facebook.com") == ("social_networks",)


def test_fingerprint_changes_and_index_is_rebuilt(tmp_path: Path) -> None:
    src = write_lists(tmp_path / "l", {"a": "a.com\n"})
    idx = load_or_compile([src], tmp_path / "idx")
    fp = fingerprint([src])
    assert idx.fingerprint == fp and idx.categories_of("b.com") == ()
    (src / "a" / "domains").write_text("a.com\nb.com\n")
    idx2 = load_or_compile([src], tmp_path / "idx")
    assert idx2.categories_of("b.com") == ("a",)


def test_symlinked_category_is_an_alias_not_a_second_name(tmp_path: Path) -> None:
    src = write_lists(tmp_path / "l", {"adult": "x.com\n"})
    (src / "porn").symlink_to(src / "adult")
    compile_index([src], tmp_path / "idx")
    assert CategoryIndex(tmp_path / "idx").categories_of("x.com") == ("adult",)


def test_a_corrupt_index_is_refused(tmp_path: Path) -> None:
    from addon.errors import CategoryError

    (tmp_path / "idx").write_bytes(b"garbage" * 10)
    with pytest.raises(CategoryError):
        CategoryIndex(tmp_path / "idx")


def make_tar(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("blacklists/porn")
        link.type = tarfile.SYMTYPE
        link.linkname = "adult"
        tar.addfile(link)
    return path


def test_import_tar_gz_ut1_layout(ws, tmp_path: Path) -> None:  # noqa: ANN001
    tar = make_tar(tmp_path / "ut1.tar.gz", {
        "blacklists/adult/domains": b"example-adult.com\n.leading.com\n",
        "blacklists/adult/urls": b"ignored.com/path\n",
        "blacklists/gambling/domains": b"bet.example\n10.9.8.7\njunk line here\n",
        "../evil/domains": b"evil.com\n",
    })
    cp = ws.run("categories", "import", str(tar), check=True)
    assert "imported" in cp.stdout
    assert not (ws.root.parent / "evil").exists()
    look = ws.run("categories", "lookup", "www.example-adult.com", check=True)
    assert "adult" in look.stdout and "example-adult.com" in look.stdout
    assert ws.run("categories", "lookup", "10.9.8.7").returncode == 0
    assert ws.run("categories", "lookup", "ignored.com").returncode == 1


UT1 = Path(__file__).resolve().parents[2] / "shared" / "data" / "ut1-blacklists-2026-08-17.tar.gz"


@pytest.mark.skipif(not UT1.exists(), reason=f"UT1 data not found at {UT1}")
def test_import_real_ut1(ws) -> None:  # noqa: ANN001
    cp = ws.run("categories", "import", str(UT1), check=True, timeout=600)
    assert "index has" in cp.stdout
    rc, d = ws.check("http://www.pornhub.com/", "--level", "3")
    assert rc == 1 and "adult" in d["categories"]
    rc, d = ws.check("https://www.gov.br/", "--level", "1")
    assert rc == 0


def test_parallel_compile_runs_from_a_threaded_process(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """The proxy recompiles from its reload thread: worker processes are spawned, not forked."""
    import threading

    import addon.lists.compiler as compiler

    monkeypatch.setattr(compiler, "PARALLEL_FROM", 0)  # force the worker processes
    src = tmp_path / "src"
    for cat, hosts in (("a", ["one.example", "two.example"]), ("b", ["three.example"])):
        (src / cat).mkdir(parents=True)
        (src / cat / "domains").write_text("\n".join(hosts) + "\n")
    held = threading.Lock()
    held.acquire()  # a lock another thread holds, as a fork would copy it
    out: list[int] = []
    t = threading.Thread(target=lambda: out.append(compiler.compile_index([src], tmp_path / "i")))
    t.start()
    t.join(120)
    held.release()
    assert out == [3]
    idx = CategoryIndex(tmp_path / "i")
    assert idx.categories_of("www.two.example") == ("a",) and idx.categories_of("three.example") == ("b",)


def test_art9_par8_the_institutions_lists_outrank_imported_ones_for_the_same_entry(tmp_path) -> None:  # noqa: ANN001
    from addon.lists.compiler import compile_index

    own, third = tmp_path / "own", tmp_path / "ut1"
    for root, cat, hosts in ((own, "work", ["outlook.office365.com"]),
                             (third, "webmail", ["outlook.office365.com", "mail.example.org"]),
                             (third, "games", ["play.example.org"]),
                             (own, "news", ["example.org"])):
        (root / cat).mkdir(parents=True, exist_ok=True)
        with open(root / cat / "domains", "a") as fh:
            fh.write("\n".join(hosts) + "\n")
    compile_index([own, third], tmp_path / "idx", imported=[third])
    idx = CategoryIndex(tmp_path / "idx")
    m = idx.lookup("outlook.office365.com")
    assert (m.categories, m.overridden, m.imported) == (("work",), ("webmail",), False)
    # the most specific entry still comes first, whoever listed it
    assert idx.lookup("play.example.org").categories == ("games",)
    assert idx.lookup("www.example.org").categories == ("news",)
    assert [x.entry for x in idx.matches("play.example.org")] == ["play.example.org",
                                                                   "example.org"]


def test_art9_par8_exceptions_remove_imported_entries_and_survive_a_reimport(ws) -> None:  # noqa: ANN001
    ut1 = ws.root / "ut1" / "blacklists"
    (ut1 / "webmail").mkdir(parents=True)
    (ut1 / "webmail" / "domains").write_text("outlook.office365.com\nfalso-positivo.example\n")
    ws.run("categories", "import", str(ws.root / "ut1"), check=True)
    # the curated `work` entry decides; UT1's webmail for the same entry is shown, outranked
    lookup = ws.run("categories", "lookup", "https://outlook.office365.com/mail", check=True)
    assert "work" in lookup.stdout and "outranked by the institution's list" in lookup.stdout
    rc, d = ws.check("https://outlook.office365.com/", "--user", "servidor",
                     "--at", "2026-11-24T14:00")
    assert rc == 0 and d["categories"] == ["work"]  # not a level-2 webmail block
    assert ws.check("http://falso-positivo.example/", "--level", "2",
                    "--at", "2026-11-24T14:00")[1]["categories"] == ["webmail"]
    ws.run("categories", "remove", "webmail", "falso-positivo.example", check=True)
    ws.run("categories", "import", str(ws.root / "ut1"), check=True)  # the list comes back ...
    _, d = ws.check("http://falso-positivo.example/", "--level", "2")
    assert d["categories"] == []  # ... and the exception holds
