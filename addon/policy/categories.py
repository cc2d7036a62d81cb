"""The compiled category index: host -> categories, at UT1 scale.

Lists live in the SquidGuard/UT1 layout (`<dir>/<category>/domains`, one entry
a line). They are compiled once into one file that is memory-mapped, so loading
costs nothing and several processes share the pages. The file holds:

- a bitmap indexed by crc32 of each listed name: a cheap negative filter, so an
  unlisted suffix (`com`, `com.br`) costs one crc32 and no cryptographic hash;
- 64-bit entries `(blake2b55(name) << 9) | (tier << 8) | category_id`, sorted,
  with a table of bucket offsets by their top 16 bits so a lookup bisects ~100
  entries. The tier says whose list it came from: 0 the institution's (curated
  lists and IT's edits), 1 an imported third-party list.

The blake2b hash is keyed with a random per-index key kept in the file header,
so nobody without the file can craft a domain that collides with a listed one
(a collision with an allow-listed name would be a way around the filter).
The most specific listed suffix wins (Art. 9 §8 "controle granular"); for that
entry, the institution's lists win over imported ones, so a UT1 list can add
what the institution did not classify but never reclassify what it did. Compiling
the file is `addon.lists.compiler`'s job; this module only reads it.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import mmap
import re
import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from addon.errors import CategoryError, HostError
from addon.policy.hosts import host_suffixes, normalize_host

MAGIC = b"GUARIDX1"
HEADER = struct.Struct("<8sIIQII16s")  # magic, header_len, version, n, bitmap_log2, json_len, key
VERSION = 2  # 2: a tier bit per entry
BUCKET_BITS = 16
MAX_CATEGORIES = 255
IMPORTED = 0x100  # the tier bit: an entry from an imported third-party list
ENTRY_LOW = 0x1FF  # tier bit and category id, below the hash
_SIMPLE = re.compile(r"^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$")
_CATEGORY_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class Match:
    """The list entry that classified a host: the entry as listed and its categories.

    `overridden` are the categories imported lists gave the same entry, which the
    institution's own lists outrank (shown by `categories lookup`, never decided on).
    """

    entry: str
    categories: tuple[str, ...]
    imported: bool = False  # True when only imported lists list this entry
    overridden: tuple[str, ...] = ()


class KeyedHasher:
    """Keyed blake2b, keyed once: copying a keyed state is 40% cheaper than re-keying."""

    def __init__(self, key: bytes) -> None:
        self._base = hashlib.blake2b(digest_size=8, key=key)

    def __call__(self, name: bytes) -> int:
        h = self._base.copy()
        h.update(name)
        return int.from_bytes(h.digest(), "little") & ~ENTRY_LOW


def category_dirs(sources: Iterable[Path]) -> dict[str, list[Path]]:
    """Category name -> its `domains` files across all source folders.

    Symbolic-link categories (UT1's `porn -> adult`) are aliases of another
    folder and are skipped, so an entry is never counted under two names.
    """
    found: dict[str, list[Path]] = {}
    for src in sources:
        if not src.is_dir():
            continue
        for sub in sorted(src.iterdir()):
            if sub.is_symlink() or not sub.is_dir() or not _CATEGORY_NAME.match(sub.name):
                continue
            domains = sub / "domains"
            if domains.is_file():
                found.setdefault(sub.name, []).append(domains)
    return found


def fingerprint(sources: Iterable[Path]) -> str:
    """Changes whenever a list file is added, removed or rewritten."""
    parts = []
    for name, files in sorted(category_dirs(sources).items()):
        for f in files:
            st = f.stat()
            parts.append(f"{name}\0{f}\0{st.st_size}\0{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def parse_list_line(line: str) -> str | None:
    """One list line -> canonical host, or None for blanks, comments and junk.

    UT1 lists carry junk lines, leading dots and IP addresses; junk is skipped
    rather than failing the whole import.
    """
    text = line.strip()
    if not text or text[0] == "#":
        return None
    if "#" in text:
        text = text.split("#", 1)[0].strip()
    if text[0] == ".":
        text = text.lstrip(".")
    if not text:
        return None
    lowered = text.lower().rstrip(".")
    if _SIMPLE.match(lowered) and not lowered[-1:].isdigit():
        return lowered
    try:
        return normalize_host(text)
    except HostError:
        return None


def read_list(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            host = parse_list_line(line)
            if host is not None:
                yield host


class CategoryIndex:
    """A loaded (memory-mapped) index. Immutable: a reload builds a new one."""

    def __init__(self, path: Path, cache_size: int = 65536) -> None:
        self.path = path
        try:
            with open(path, "rb") as fh:
                self._mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as exc:
            raise CategoryError(f"{path}: cannot open category index: {exc}") from exc
        if len(self._mm) < HEADER.size:
            raise CategoryError(f"{path}: not a guarita category index")
        magic, header_len, version, n, log2, json_len, key = HEADER.unpack_from(self._mm, 0)
        if magic != MAGIC or version != VERSION:
            raise CategoryError(f"{path}: not a guarita category index (version {version})")
        meta = json.loads(bytes(self._mm[HEADER.size : HEADER.size + json_len]))
        self.categories: tuple[str, ...] = tuple(meta["categories"])
        self.fingerprint: str = meta["fingerprint"]
        self.entries_count: int = n
        self._key: bytes = key
        self._hash = KeyedHasher(key)
        view = memoryview(self._mm)
        bitmap_len = 1 << (log2 - 3)
        off = header_len
        self._bitmap = view[off : off + bitmap_len]
        self._shift = 32 - log2
        off += bitmap_len
        nb = (1 << BUCKET_BITS) + 1
        self._buckets = view[off : off + nb * 8].cast("Q")
        off += nb * 8
        self._entries = view[off : off + n * 8].cast("Q")
        if len(self._entries) != n:
            raise CategoryError(f"{path}: truncated category index")
        self.lookup = lru_cache(maxsize=cache_size)(self._lookup)

    def _lookup_suffix(self, name: str) -> Match | None:
        b = name.encode("ascii")
        bit = zlib.crc32(b) >> self._shift
        if not self._bitmap[bit >> 3] & (1 << (bit & 7)):
            return None
        top = self._hash(b)
        bucket = top >> (64 - BUCKET_BITS)
        entries = self._entries
        lo, hi = self._buckets[bucket], self._buckets[bucket + 1]
        i = bisect.bisect_left(entries, top, lo, hi)
        own: list[str] = []
        imported: list[str] = []
        while i < hi and entries[i] & ~ENTRY_LOW == top:
            e = entries[i]
            (imported if e & IMPORTED else own).append(self.categories[e & 0xFF])
            i += 1
        if own:
            return Match(name, tuple(own), False,
                         tuple(c for c in imported if c not in own))
        if imported:
            return Match(name, tuple(dict.fromkeys(imported)), True)
        return None

    def _lookup(self, host: str) -> Match | None:
        """The most specific listed suffix of a canonical host, or None if unlisted."""
        for suffix in host_suffixes(host):
            m = self._lookup_suffix(suffix)
            if m is not None:
                return m
        return None

    def matches(self, host: str) -> list[Match]:
        """Every listed suffix of `host`, most specific first (the first one decides)."""
        return [m for s in host_suffixes(host) if (m := self._lookup_suffix(s)) is not None]

    def categories_of(self, host: str) -> tuple[str, ...]:
        m = self.lookup(host)
        return m.categories if m else ()

    def close(self) -> None:
        self.lookup.cache_clear()
        self._bitmap.release()
        self._buckets.release()
        self._entries.release()
        try:
            self._mm.close()
        except BufferError:
            pass
