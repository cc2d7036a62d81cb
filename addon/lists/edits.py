"""Adding and removing hosts in category lists (Art. 9 §8): what `guarita categories add|remove`
and the console both call.

The institution's curated lists are edited in place (atomically); an imported list (UT1) is
never edited: a host removed from it goes to the state folder's `exceptions/`, so the next
import does not bring it back. Every edit is in the admin history and recompiles the index,
which a running proxy picks up within seconds.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from addon.errors import CategoryError
from addon.lists import compiler, shared
from addon.policy import categories as cat
from addon.policy.hosts import normalize_host
from addon.policy.model import Policy
from addon.state import db, history


def known(policy: Policy, name: str) -> None:
    """CategoryError unless the policy declares the category or a list folder has it."""
    existing = cat.category_dirs(policy.paths.sources)
    if name not in policy.category_labels and name not in existing:
        raise CategoryError(
            f"unknown category {name!r} (declare it under 'categories' in {policy.source})"
        )


def stage(path: Path, keep: set[str] | None, add: list[str]) -> Path:
    """The list rewritten beside it (a temporary file), dropping entries not in `keep`
    (None = keep all) and adding `add`; `commit` makes it the list."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".domains-")
    with open(fd, "w", encoding="utf-8") as out:
        if path.exists():
            with open(path, encoding="utf-8", errors="replace") as src:
                for line in src:
                    host = cat.parse_list_line(line)
                    if host is None or keep is None or host in keep:
                        out.write(line if line.endswith("\n") else line + "\n")
        for h in add:
            out.write(h + "\n")
    return Path(tmp)


def commit(policy: Policy, operator: str, action: str, subject: str, after: object,
           staged: list[tuple[Path, Path]]) -> None:
    """Make staged lists real: stored for every node and in the admin history first, in
    one transaction, then written here. A database that cannot be reached refuses the
    edit before any list changes (a node must never block what the database never had).
    """
    try:
        conn = db.connect(policy.paths)
        try:
            with conn:
                shared.store(conn, policy.paths, [(t, tmp.read_bytes()) for t, tmp in staged])
                history.record(conn, operator, action, subject, None, after)
        finally:
            conn.close()
    except BaseException:
        for _, tmp in staged:
            tmp.unlink(missing_ok=True)
        raise
    for target, tmp in staged:
        tmp.replace(target)


def record(policy: Policy, operator: str, action: str, subject: str, after: object) -> None:
    """One entry in the admin history for a list edit (Art. 9 §8: who changed what)."""
    conn = db.connect(policy.paths)
    try:
        with conn:
            history.record(conn, operator, action, subject, None, after)
    finally:
        conn.close()


def add_hosts(policy: Policy, category: str, hosts: Iterable[str], operator: str,
              on_compile: Callable[[], None] | None = None) -> tuple[list[str], int]:
    """Add hosts to the category's curated list: (added, how many were already listed)."""
    known(policy, category)
    target = policy.paths.category_dirs[0] / category / "domains"
    names = [normalize_host(h) for h in hosts]
    present = set(cat.read_list(target)) if target.exists() else set()
    new = [h for h in dict.fromkeys(names) if h not in present]
    if new:
        commit(policy, operator, "categories.add", category, new,
               [(target, stage(target, None, new))])
        if on_compile is not None:
            on_compile()
        compiler.compile_policy(policy.paths)
    return new, len(names) - len(new)


def remove_hosts(policy: Policy, category: str, hosts: Iterable[str], operator: str,
                 on_compile: Callable[[], None] | None = None) -> tuple[set[str], set[str]]:
    """Remove hosts from every list of the category: (removed, not listed)."""
    known(policy, category)
    names = {normalize_host(h) for h in hosts}
    removed: set[str] = set()
    staged: list[tuple[Path, Path]] = []
    imported = policy.paths.imported_dir.resolve()
    for f in cat.category_dirs(policy.paths.sources).get(category, []):
        listed = set(cat.read_list(f))
        hit = listed & names
        if not hit:
            continue
        if f.parent.parent.resolve() == imported:
            exceptions = policy.paths.exceptions_dir / category / "domains"
            excepted = set(cat.read_list(exceptions)) if exceptions.exists() else set()
            staged.append((exceptions, stage(exceptions, None, sorted(hit - excepted))))
        else:
            staged.append((f, stage(f, listed - hit, [])))
        removed |= hit
    if removed:
        commit(policy, operator, "categories.remove", category, sorted(removed), staged)
        if on_compile is not None:
            on_compile()
        compiler.compile_policy(policy.paths)
    return removed, names - removed
