"""The category index compiled in a child process, for the long-running processes.

Compiling needs numpy (sorting millions of keys in C), and a process that imports numpy
keeps it: about 15 MB of every proxy's and console's memory, for a compile that happens
when a list changes. `compile_apart` runs `python -m addon.lists.apart` with the lists'
folders and waits; the child compiles exactly as `compile_index` does in the CLI, and its
failure comes back as one line. The index is written to a temporary name and renamed, so
the parent reads it only once it is whole.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from addon.errors import CategoryError
from addon.lists.compiler import compile_index


def compile_apart(sources: Iterable[Path], target: Path, imported: Iterable[Path] = (),
                  exceptions: Path | None = None) -> None:
    """`compile_index` in a child process; CategoryError with the child's reason."""
    args = [sys.executable, "-m", "addon.lists.apart", "--target", str(target)]
    args += [a for s in sources for a in ("--source", str(s))]
    args += [a for i in imported for a in ("--imported", str(i))]
    if exceptions is not None:
        args += ["--exceptions", str(exceptions)]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise CategoryError(lines[-1].removeprefix("error: ") if lines else
                            f"the index compiler stopped (exit {done.returncode})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m addon.lists.apart",
                                     description="Compile category lists into an index file.")
    parser.add_argument("--target", type=Path, required=True)
    parser.add_argument("--source", type=Path, action="append", default=[])
    parser.add_argument("--imported", type=Path, action="append", default=[])
    parser.add_argument("--exceptions", type=Path)
    a = parser.parse_args(argv)
    try:
        compile_index(a.source, a.target, a.imported, a.exceptions)
    except (CategoryError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
