"""The index compiled in a child process: the same index as in-process, a failure as one
line, and the asking process never holding numpy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from addon.errors import CategoryError
from addon.lists import apart
from addon.lists.compiler import compile_index, load_or_compile
from addon.policy.categories import CategoryIndex
from tests.conftest import ROOT


def _lists(root: Path) -> tuple[Path, Path, Path]:
    own, imported, exceptions = root / "lists", root / "imported", root / "exceptions"
    for folder, category, names in ((own, "social", "facebook.com\n"),
                                    (imported, "adult", "xvideos.com\nfine.example\n"),
                                    (exceptions, "adult", "fine.example\n")):
        (folder / category).mkdir(parents=True)
        (folder / category / "domains").write_text(names)
    return own, imported, exceptions


def test_the_child_compiles_the_index_the_cli_would(tmp_path: Path) -> None:
    own, imported, exceptions = _lists(tmp_path)
    apart.compile_apart([own, imported], tmp_path / "a.idx", [imported], exceptions)
    compile_index([own, imported], tmp_path / "b.idx", [imported], exceptions)
    a, b = CategoryIndex(tmp_path / "a.idx"), CategoryIndex(tmp_path / "b.idx")
    assert a.entries_count == b.entries_count == 2  # the exception took fine.example out
    for host in ("facebook.com", "www.xvideos.com", "fine.example", "gov.br"):
        assert a.matches(host) == b.matches(host)
    assert a.matches("www.xvideos.com") and not a.matches("fine.example")
    assert a.fingerprint == b.fingerprint


def test_a_compile_that_fails_in_the_child_is_one_line(tmp_path: Path) -> None:
    own = tmp_path / "lists"
    for i in range(300):  # more categories than an index holds
        (own / f"c{i}").mkdir(parents=True)
        (own / f"c{i}" / "domains").write_text(f"site{i}.example\n")
    with pytest.raises(CategoryError, match=r"^too many categories \(300; at most \d+\)$"):
        apart.compile_apart([own], tmp_path / "x.idx")
    assert not (tmp_path / "x.idx").exists()
    assert apart.main(["--target", str(tmp_path / "y.idx"), "--source", str(own)]) == 1


def test_the_process_that_asks_never_loads_numpy(tmp_path: Path) -> None:
    own, imported, exceptions = _lists(tmp_path)
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from addon.lists.apart import compile_apart\n"
        "from addon.lists.compiler import load_or_compile\n"
        f"idx = load_or_compile([Path({str(own)!r})], Path({str(tmp_path / 'p.idx')!r}), "
        "compile_with=compile_apart)\n"
        "print(idx.entries_count, 'numpy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.split()
    assert out == ["1", "False"]
    # and the in-process default still compiles (the CLI's short-lived commands)
    assert load_or_compile([own], tmp_path / "q.idx").entries_count == 1
