"""Category lists shared through PostgreSQL: an edit or an import on one node reaches all.

With a shared database, every list file a node changes (a host added or removed, an
exception, an imported UT1 category) is published as one row of `list_files`: its
path relative to its tier, its SHA-256 and its compressed text, stored once however
many nodes there are. Publishing bumps `state_version`, so every node's reloader,
which polls it each second, calls `sync`: files whose hash differs from the local copy
are fetched and written atomically, and the index is rebuilt from them in the same
reload (the fingerprint of the lists changed). A node started later catches up on its
first reload. Without a shared database both functions do nothing.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
import zlib
from collections.abc import Iterable
from pathlib import Path

from addon.policy.paths import Paths
from addon.state import db
from addon.store.seam import Connection

log = logging.getLogger("guarita")
_hashes: dict[Path, tuple[int, int, str]] = {}  # path -> (mtime_ns, size, sha256)


def _tiers(paths: Paths) -> list[tuple[str, Path]]:
    """Where each tier's lists live: the policy's folders (curated0, curated1...), the
    imported lists and IT's exceptions to them."""
    return [*((f"curated{i}", d) for i, d in enumerate(paths.category_dirs)),
            ("imported", paths.imported_dir), ("exceptions", paths.exceptions_dir)]


def key_of(paths: Paths, file: Path) -> str | None:
    """`imported/adult/domains` for a list file, None for a file outside every tier."""
    file = file.resolve()
    for tier, root in _tiers(paths):
        try:
            rel = file.relative_to(root.resolve())
        except ValueError:
            continue
        if len(rel.parts) == 2 and rel.parts[1] == "domains":
            return f"{tier}/{rel.as_posix()}"
    return None


def path_of(paths: Paths, key: str) -> Path | None:
    tier, _, rel = key.partition("/")
    parts = rel.split("/")
    if len(parts) != 2 or parts[1] != "domains" or parts[0] in ("", ".", ".."):
        return None  # only <category>/domains, never a path a row could steer elsewhere
    for name, root in _tiers(paths):
        if name == tier:
            return root / parts[0] / "domains"
    return None


def sha256_of(file: Path) -> str | None:
    """The file's hash, cached by modification time and size (UT1 lists are large)."""
    try:
        st = file.stat()
    except OSError:
        return None
    hit = _hashes.get(file)
    if hit is not None and hit[:2] == (st.st_mtime_ns, st.st_size):
        return hit[2]
    h = hashlib.sha256()
    with open(file, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    _hashes[file] = (st.st_mtime_ns, st.st_size, h.hexdigest())
    return h.hexdigest()


def publish(paths: Paths, files: Iterable[Path]) -> int:
    """Store these list files for every node; returns how many were published."""
    if not paths.database:
        return 0
    items = [(f, f.read_bytes()) for f in files if f.exists()]
    if not items:
        return 0
    conn = db.connect(paths)
    try:
        with conn:
            return store(conn, paths, items)
    finally:
        conn.close()


def store(conn: Connection, paths: Paths, items: Iterable[tuple[Path, bytes]]) -> int:
    """Store (file, content) pairs in the caller's transaction; how many were stored.

    The content is given, not read: an edit stores what it is about to write, and
    writes the file only once the database has it.
    """
    if not paths.database:
        return 0
    n = 0
    for f, data in items:
        key = key_of(paths, f)
        if key is None:
            continue
        conn.execute(
            "INSERT INTO list_files (key, sha256, content, updated) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET sha256 = excluded.sha256, "
            "content = excluded.content, updated = excluded.updated",
            (key, hashlib.sha256(data).hexdigest(), zlib.compress(data, 6), time.time()))
        n += 1
    return n


def sync(conn: Connection, paths: Paths) -> list[str]:
    """Write every shared list whose local copy differs; returns the keys written."""
    if not paths.database:
        return []
    written = []
    for key, sha in conn.execute("SELECT key, sha256 FROM list_files ORDER BY key").fetchall():
        target = path_of(paths, key)
        if target is None or sha256_of(target) == sha:
            continue
        row = conn.execute("SELECT content FROM list_files WHERE key = ?", (key,)).fetchone()
        if row is None:
            continue
        data = zlib.decompress(bytes(row[0]))
        if hashlib.sha256(data).hexdigest() != sha:
            log.error("guarita: shared list %s: content does not match its hash; not used", key)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".domains-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, target)
        written.append(key)
    return written
