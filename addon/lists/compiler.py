"""Compiling category lists into the index file that `addon.policy.categories` reads.

Separate from the reader because it needs what the pure core must not: numpy to sort
millions of keys, worker processes, and writing files. The file is written to a
temporary name and renamed, so a running proxy never sees half an index.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path

from addon.errors import CategoryError
from addon.policy.categories import (
    BUCKET_BITS,
    HEADER,
    IMPORTED,
    MAGIC,
    MAX_CATEGORIES,
    VERSION,
    CategoryIndex,
    KeyedHasher,
    category_dirs,
    fingerprint,
    read_list,
)
from addon.policy.paths import Paths

Job = tuple[str, int, bytes, str]  # list file, tier bit | category id, key, exceptions file


def _hash_file(job: Job) -> tuple[bytes, bytes]:
    """Keys and crc32s of one list file (runs in a worker process during compile)."""
    from array import array

    path, low, key, skip_file = job
    skip = set(read_list(Path(skip_file))) if skip_file else set()
    hasher = KeyedHasher(key)
    keys, crcs = array("Q"), array("I")
    crc32 = zlib.crc32
    for host in read_list(Path(path)):
        if host in skip:
            continue
        b = host.encode("ascii")
        keys.append(hasher(b) | low)
        crcs.append(crc32(b))
    return keys.tobytes(), crcs.tobytes()


PARALLEL_FROM = 8 << 20  # bytes of lists below which worker processes cost more than they save


def total_size(jobs: list[Job]) -> int:
    return sum(os.path.getsize(j[0]) for j in jobs)


def watched(sources: Iterable[Path], exceptions: Path | None) -> list[Path]:
    """Everything whose change means a new index: the lists and the exceptions."""
    return [*sources, *([exceptions] if exceptions is not None else [])]


def compile_index(sources: Iterable[Path], target: Path, imported: Iterable[Path] = (),
                  exceptions: Path | None = None) -> int:
    """Compile every list under `sources` into the index file `target`; returns entries.

    Lists under a folder of `imported` are third-party (tier 1): the institution's own
    lists outrank them for the same entry, and `exceptions/<category>/domains` removes
    entries from them (kept apart, so a re-import never brings an entry back). Written
    to a temporary file and renamed, so a running proxy never sees half an index.
    """
    import numpy as np  # compile time only: sorting millions of keys in C

    sources = list(sources)
    third_party = {p.resolve() for p in imported}
    cats = category_dirs(sources)
    if len(cats) > MAX_CATEGORIES:
        raise CategoryError(f"too many categories ({len(cats)}; at most {MAX_CATEGORIES})")
    skips = category_dirs([exceptions]) if exceptions is not None else {}
    names = sorted(cats)
    key = secrets.token_bytes(16)
    jobs: list[Job] = []
    for cat_id, name in enumerate(names):
        for f in cats[name]:
            tier = IMPORTED if f.parent.parent.resolve() in third_party else 0
            skip = str(skips[name][0]) if tier and name in skips else ""
            jobs.append((str(f), tier | cat_id, key, skip))
    jobs.sort(key=lambda j: -os.path.getsize(j[0]))  # biggest first: better balance
    if len(jobs) > 1 and (os.cpu_count() or 1) > 1 and total_size(jobs) > PARALLEL_FROM:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn, never fork: the proxy recompiles from its reload thread, and a fork of a
        # threaded process can inherit a lock some other thread held, and hang for ever
        with ProcessPoolExecutor(max_workers=min(os.cpu_count() or 1, len(jobs)),
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            parts = list(pool.map(_hash_file, jobs))
    else:
        parts = [_hash_file(j) for j in jobs]
    keys = np.frombuffer(b"".join(k for k, _ in parts), dtype=np.uint64)
    crcs = np.frombuffer(b"".join(c for _, c in parts), dtype=np.uint32)
    entries = np.unique(keys)
    n = int(entries.size)
    log2 = max(16, min(28, (max(n, 1) * 16 - 1).bit_length()))
    bitmap = np.zeros(1 << (log2 - 3), dtype=np.uint8)
    if crcs.size:
        bits = crcs >> np.uint32(32 - log2)
        np.bitwise_or.at(bitmap, bits >> 3, (1 << (bits & 7)).astype(np.uint8))
    buckets = np.searchsorted(
        entries >> np.uint64(64 - BUCKET_BITS),
        np.arange((1 << BUCKET_BITS) + 1, dtype=np.uint64),
    ).astype(np.uint64)
    meta = json.dumps(
        {"categories": names, "fingerprint": fingerprint(watched(sources, exceptions)),
         "sources": [str(s) for s in sources]}
    ).encode()
    header_len = -(-(HEADER.size + len(meta)) // 4096) * 4096
    header = HEADER.pack(MAGIC, header_len, VERSION, n, log2, len(meta), key) + meta
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".index-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(header.ljust(header_len, b"\0"))
            out.write(bitmap.tobytes())
            out.write(buckets.tobytes())
            out.write(entries.tobytes())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return n


def load_or_compile(sources: list[Path], target: Path, imported: Iterable[Path] = (),
                    exceptions: Path | None = None,
                    compile_with: Callable[..., object] | None = None) -> CategoryIndex:
    """Load the index at `target`, recompiling it first if any list changed (with
    `compile_with`: `compile_index` by default, `apart.compile_apart` in long-running processes)."""
    current = fingerprint(watched(sources, exceptions))
    if target.exists():
        try:
            idx = CategoryIndex(target)
            if idx.fingerprint == current:
                return idx
            idx.close()
        except CategoryError:
            pass
    (compile_with or compile_index)(sources, target, imported, exceptions)
    return CategoryIndex(target)


def policy_index(paths: Paths, compile_with: Callable[..., object] | None = None) -> CategoryIndex:
    """The index of a policy's lists (curated, imported, exceptions), compiled if stale."""
    return load_or_compile(paths.sources, paths.index_file, [paths.imported_dir],
                           paths.exceptions_dir, compile_with)


def compile_policy(paths: Paths) -> int:
    return compile_index(paths.sources, paths.index_file, [paths.imported_dir],
                         paths.exceptions_dir)
