"""What makes the audit log evidence: the pure arithmetic of seals and checkpoints.

Every batch the writer commits gets a **seal** in the same transaction: the batch's ids
(one contiguous range: writers are serialised on both engines), and its *leaves*, one per
record: the record's time and the SHA-256 of its canonical bytes (the 21 fields in column
order, compact JSON). A seal's **root** is the SHA-256 of its leaves; its **digest** binds
the root to the chain's previous digest, its chain's name, its number and its ids, so
changing, removing or reordering any record or seal changes every digest after it. Each
writer (a process of one node) keeps a chain of its own, named, so several workers and
nodes never need to agree on an order.

A **checkpoint** is a chain's digest at one seal, signed with the node's Ed25519 key
(`addon/audit/signing.py`), stored in the database and appended to the witness, a file
outside it (`audit.witness`). A **pruning statement** is signed the same way: it says which
records the retention removed, so a pruned record is told apart from a deleted one.

Leaves keep the time of each record so a missing one can be judged (pruned if older than
a signed cut-off, deleted otherwise) and hashes only: an export for one case carries the
leaves of other people's records, never their content. Pure: no database, no files.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import orjson

from addon.audit.columns import COLUMN_TYPES

LEAF = struct.Struct("<d32s")  # a record's time (NaN when it has none) and its hash
GENESIS = bytes(32)  # the digest before a chain's first seal
_KINDS = tuple(kind for _, kind in COLUMN_TYPES)
_CATEGORIES = [name for name, _ in COLUMN_TYPES].index("categories")
_sha256 = hashlib.sha256
_pack = LEAF.pack


def canonical(rec: Sequence[object]) -> bytes:
    """A record's bytes for hashing: its fields in column order as compact JSON.

    orjson for speed; what orjson refuses (an integer past 64 bits, a lone surrogate: never
    in a record the writer stored) falls back to the standard library's ASCII form. The
    verifier computes the same from the stored row (`stored_fields`)."""
    try:
        return orjson.dumps(rec)
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(list(rec), separators=(",", ":"), default=str).encode("ascii")


def _time(ts: object) -> float:
    """A leaf's time: the record's when it is a finite float, NaN otherwise (JSON has no
    infinity: the leaves helper reads one as null, and SQLite stores NaN as NULL)."""
    return ts if type(ts) is float and ts - ts == 0.0 else math.nan


def leaf(rec: Sequence[object]) -> bytes:
    return _pack(_time(rec[0] if rec else None), _sha256(canonical(rec)).digest())


def leaves_of(batch: Iterable[Sequence[object]]) -> bytes:
    """The leaves of a batch, packed: ~1 µs a record (the writer's only added work)."""
    dumps, sha, pack, nan = orjson.dumps, _sha256, _pack, math.nan
    out = []
    for rec in batch:
        try:
            raw = dumps(rec)
        except (orjson.JSONEncodeError, TypeError):
            raw = canonical(rec)
        ts = rec[0]
        out.append(pack(ts if type(ts) is float and ts - ts == 0.0 else nan, sha(raw).digest()))
    return b"".join(out)


def unpack(leaves: bytes) -> list[tuple[float, bytes]]:
    if len(leaves) % LEAF.size:
        raise ValueError(f"leaves of {len(leaves)} bytes are not whole ({LEAF.size} each)")
    return [LEAF.unpack_from(leaves, i) for i in range(0, len(leaves), LEAF.size)]


def root_of(leaves: bytes) -> bytes:
    return _sha256(leaves).digest()


def link(prev: bytes, chain: str, seq: int, first_id: int, last_id: int, root: bytes) -> bytes:
    """A seal's digest: its root bound to everything before it and to where it sits."""
    head = f"guarita-seal-v1\n{chain}\n{seq}\n{first_id}\n{last_id}\n".encode()
    return _sha256(prev + head + root).digest()


def stored_fields(row: Sequence[object]) -> tuple[object, ...]:
    """A record as read back (SQLite or PostgreSQL) in the form the writer hashed: numbers
    in their column's kind, PostgreSQL's categories (JSONB, read as a list) as the JSON text
    the writer wrote."""
    out = list(row)
    for i, (value, kind) in enumerate(zip(out, _KINDS, strict=True)):
        if value is None:
            continue
        if i == _CATEGORIES:
            out[i] = _categories_text(value)
        elif kind is float and isinstance(value, int) and not isinstance(value, bool):
            out[i] = float(value)
        elif kind is int and isinstance(value, float) and value.is_integer():
            out[i] = int(value)
    return tuple(out)


def _categories_text(value: object) -> object:
    """The writer's JSON text (`json.dumps` of the list) whatever the engine gives back:
    PostgreSQL's JSONB is read as a list, or as its own spelling of the text."""
    if not isinstance(value, str):
        return json.dumps(value)
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    return json.dumps(parsed) if isinstance(parsed, list) else value


@dataclass(frozen=True)
class Seal:
    chain: str
    seq: int
    first_id: int
    last_id: int
    leaves: bytes | None  # None once every record of it was pruned (the root stays)
    root: bytes
    digest: bytes

    @property
    def count(self) -> int:
        return self.last_id - self.first_id + 1


def make_seal(prev: bytes, chain: str, seq: int, first_id: int, leaves: bytes) -> Seal:
    count = len(leaves) // LEAF.size
    root = root_of(leaves)
    last_id = first_id + count - 1
    return Seal(chain, seq, first_id, last_id, leaves, root,
                link(prev, chain, seq, first_id, last_id, root))


def checkpoint_body(kind: str, chain: str, seq: int | None, digest: bytes | None, ts: float,
                    **extra: object) -> bytes:
    """What a checkpoint or a pruning statement signs: sorted compact JSON, so anyone
    can rebuild the exact bytes from the stored fields."""
    body: dict[str, object] = {"v": 1, "kind": kind, "chain": chain, "seq": seq,
                               "digest": digest.hex() if digest is not None else None,
                               "ts": ts, **extra}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
