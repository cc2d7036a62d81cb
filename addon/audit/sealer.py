"""The writer's side of the evidence: one chain per writer, a seal per batch in the
batch's own transaction, a signed checkpoint every minute and at a stop.

A seal is computed before its transaction commits and becomes the chain's head only after:
a batch the database refused leaves the chain where it was, and the retried batch is
sealed again. Checkpoints need the node's key (`addon/audit/signing.py`); without one the
seals still chain every record, and `audit verify` says no checkpoint signs them.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import socket
import time
from collections.abc import Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from addon.audit import seal, signing, witness
from addon.audit.hasher import Hasher
from addon.audit.schema import BY_IDS
from addon.audit.seal import Seal

log = logging.getLogger("guarita.audit")

CHECKPOINT_EVERY = 60.0
INSERT_SEAL = ("INSERT INTO audit_seals (chain, seq, first_id, last_id, min_ts, max_ts, leaves, "
               "root, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
INSERT_CHECKPOINT = ("INSERT INTO audit_checkpoints (kind, chain, seq, ts, body, public_key, "
                     "signature) VALUES (?, ?, ?, ?, ?, ?, ?)")


def chain_name() -> str:
    """This writer's chain: the host, the process, when it started and a random tag (one
    process may hold several writers, started in the same second)."""
    host = "".join(c for c in socket.gethostname() if "!" <= c <= "~") or "node"
    started = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return f"{host}:{os.getpid()}:{started}:{secrets.token_hex(3)}"


def _times(rows: Sequence[Sequence[object]]) -> tuple[float | None, float | None]:
    times = [t for t in map(itemgetter(0), rows) if type(t) is float and not math.isnan(t)]
    return (min(times), max(times)) if times else (None, None)


def signed_entry(key: Ed25519PrivateKey, kind: str, chain: str, seq: int | None,
                 digest: bytes | None, ts: float, **extra: object) -> dict[str, Any]:
    """A checkpoint or pruning statement as stored and witnessed: the signed body and who signed."""
    body = seal.checkpoint_body(kind, chain, seq, digest, ts, **extra).decode()
    return {"kind": kind, "chain": chain, "seq": seq, "ts": ts, "body": body,
            "public_key": signing.public_hex(key), "signature": signing.sign(key, body.encode())}


def store_entry(conn: Any, entry: dict[str, Any]) -> None:
    conn.execute(INSERT_CHECKPOINT, (entry["kind"], entry["chain"], entry["seq"], entry["ts"],
                                     entry["body"], entry["public_key"], entry["signature"]))


class Sealer:
    def __init__(self, chain: str | None = None, key: Ed25519PrivateKey | None = None,
                 witness_file: Path | None = None, every: float = CHECKPOINT_EVERY,
                 hasher: Hasher | None = None) -> None:
        self.chain = chain or chain_name()
        self.key = key
        self.witness_file = witness_file
        self.every = every
        self.seq = 0
        self.prev = seal.GENESIS
        self.signed_seq = 0
        self.signed_at = time.monotonic()
        self.witness_error: str | None = None
        self.hasher = hasher or Hasher()

    def prepare(self, batch: Sequence[Sequence[object]]) -> int | None:
        """Before the batch is written: a big one goes to the helper to be hashed meanwhile."""
        return self.hasher.send(batch)

    def seal(self, conn: Any, batch: Sequence[Sequence[object]], first_id: int,
             read_back: bool = False, prepared: int | None = None) -> Seal:
        """Seal the batch just inserted (ids from `first_id`) inside the caller's transaction.

        `read_back`: the records were coerced on the way in, so hash them as stored.
        `prepared`: what `prepare` returned for this batch (its leaves are collected; an
        answer left untaken, as here when records were coerced, is drained by the next send)."""
        rows: Sequence[Sequence[object]] = batch
        leaves = None
        if read_back:
            rows = [seal.stored_fields(tuple(r)[1:]) for r in
                    conn.execute(BY_IDS, (first_id, first_id + len(batch) - 1)).fetchall()]
        elif prepared is not None:
            leaves = self.hasher.leaves(prepared)
        if leaves is None:
            leaves = seal.leaves_of(rows)
        s = seal.make_seal(self.prev, self.chain, self.seq + 1, first_id, leaves)
        lo, hi = _times(rows)
        conn.execute(INSERT_SEAL, (s.chain, s.seq, s.first_id, s.last_id, lo, hi, s.leaves,
                                   s.root.hex(), s.digest.hex()))
        return s

    def close(self) -> None:
        self.hasher.close()

    def committed(self, s: Seal) -> None:
        self.seq, self.prev = s.seq, s.digest

    def due(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        return (self.key is not None and self.seq > self.signed_seq
                and now - self.signed_at >= self.every)

    def checkpoint(self, conn: Any) -> dict[str, Any] | None:
        """Sign the chain's head, store it (its own transaction) and witness it."""
        if self.key is None or self.seq == self.signed_seq:
            return None
        entry = signed_entry(self.key, "checkpoint", self.chain, self.seq, self.prev, time.time())
        with conn:
            store_entry(conn, entry)
        self.signed_seq, self.signed_at = self.seq, time.monotonic()
        self.witness(entry)
        return entry

    def witness(self, entry: dict[str, Any]) -> None:
        if self.witness_file is None:
            return
        try:
            witness.append(self.witness_file, entry)
        except OSError as exc:
            message = f"audit witness {self.witness_file}: cannot append ({exc.strerror or exc})"
            if message != self.witness_error:
                log.error("%s; checkpoints stay in the database", message)
            self.witness_error = message
        else:
            if self.witness_error:
                log.warning("audit witness %s: appending again", self.witness_file)
            self.witness_error = None


COMPACT = ("UPDATE audit_seals SET leaves = NULL WHERE leaves IS NOT NULL AND max_ts < ? "
           "AND NOT EXISTS (SELECT 1 FROM audit WHERE audit.id BETWEEN audit_seals.first_id "
           "AND audit_seals.last_id)")


def record_prune(conn: Any, key: Ed25519PrivateKey, witness_file: Path | None, before: float,
                 deleted: int, operator: str) -> dict[str, Any]:
    """After a pruning: the signed statement that records before `before` left by the
    retention (so verify tells them from deleted ones), stored and witnessed; the seals
    left with no record lose their leaves (their roots keep the chain)."""
    entry = signed_entry(key, "prune", chain_name().split(":")[0], None, None, time.time(),
                         before=before, deleted=deleted, operator=operator)
    with conn:
        store_entry(conn, entry)
        conn.execute(COMPACT, (before,))
    Sealer(key=key, witness_file=witness_file).witness(entry)
    return entry
