"""The leaves of a big batch, hashed in a helper process while the batch is being written.

Hashing a record for its leaf (its canonical bytes, SHA-256, its time: `seal.leaves_of`)
costs about 1.5 µs, most of it OpenSSL's set-up for each small input, and all of it holding
the GIL the writer shares with the proxy's event loop: 6 % of the writer's records/s when
done in its thread. Instead the writer encodes the batch in a few orjson calls, one per
CHUNK records (0.3 µs a record: one output buffer, where a call per record costs six times
that in fresh memory), hands the JSON to this helper, writes the batch to the database
meanwhile, and takes the leaves back for the seal in the same transaction. Each record's
canonical bytes are orjson's encoding of it, and an array read back and encoded again gives
the same bytes, so the helper's leaves are the thread's (a test compares them). The helper
spends ~3 µs a record (reading the JSON back), on another core.

A batch orjson cannot encode (an integer past 64 bits, a lone surrogate) and a small batch
(a quiet proxy: no helper is started for it) are hashed in the thread. A helper that fails
or dies is said once and replaced by the thread until a minute has passed.
"""

from __future__ import annotations

import logging
import select
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import IO

import orjson

from addon.audit import seal

log = logging.getLogger("guarita.audit")

HEADER = struct.Struct("<Q")  # the length of what follows
MIN_BATCH = 2000  # below this the helper's round trip costs more than it saves
# records per JSON array: the helper holds one parsed array at a time (~9 MB), not a batch
CHUNK = 5000
RETRY_AFTER = 60.0
ANSWER_WITHIN = 30.0  # seconds: a helper that takes longer is stuck; the thread takes over


def _read(stream: IO[bytes], n: int) -> bytes:
    data = stream.read(n)
    if data is None or len(data) != n:
        raise EOFError("the leaves helper's pipe closed")
    return data


class Hasher:
    """One helper per writer, started with the first big batch."""

    def __init__(self, min_batch: int = MIN_BATCH) -> None:
        self.min_batch = min_batch
        self._proc: subprocess.Popen[bytes] | None = None
        self._failed_at: float | None = None
        self._waiting: int | None = None  # a batch sent whose leaves were not taken

    def _drain(self) -> None:
        """A transaction that failed between send and seal left its answer in the pipe."""
        if self._waiting is not None:
            self.leaves(self._waiting)

    def send(self, batch: Sequence[Sequence[object]]) -> int | None:
        """Hand a batch to the helper; its record count, or None to hash it in the thread."""
        self._drain()
        if len(batch) < self.min_batch or not self._available():
            return None
        try:
            chunks = [orjson.dumps(batch[i:i + CHUNK]) for i in range(0, len(batch), CHUNK)]
        except (orjson.JSONEncodeError, TypeError):
            return None
        head = struct.pack(f"<{len(chunks) + 1}Q", len(chunks), *map(len, chunks))
        try:
            proc = self._start()
            if proc.stdin is None:
                raise OSError("the leaves helper has no pipe")
            # the whole request before any answer: the helper reads it all, then answers
            proc.stdin.write(head)
            proc.stdin.writelines(chunks)
            proc.stdin.flush()
        except OSError as exc:
            self._fail(exc)
            return None
        self._waiting = len(batch)
        return len(batch)

    def leaves(self, count: int) -> bytes | None:
        """The leaves of the batch last sent, or None when the helper failed (or is stuck:
        the writer never waits on it longer than ANSWER_WITHIN)."""
        proc, self._waiting = self._proc, None
        try:
            if proc is None or proc.stdout is None:
                raise EOFError("no leaves helper")
            if not select.select([proc.stdout], [], [], ANSWER_WITHIN)[0]:
                raise EOFError(f"no answer in {ANSWER_WITHIN:g} s")
            size = HEADER.unpack(_read(proc.stdout, HEADER.size))[0]
            leaves = _read(proc.stdout, size)
            if size != count * seal.LEAF.size:
                raise EOFError(f"{size} bytes of leaves for {count} records")
        except (OSError, EOFError) as exc:
            self._fail(exc)
            return None
        return leaves

    def _available(self) -> bool:
        return self._failed_at is None or time.monotonic() - self._failed_at >= RETRY_AFTER

    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "addon.audit.hasher"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        return self._proc

    def _fail(self, exc: BaseException) -> None:
        log.warning("audit leaves helper failed (%s); hashing in the writer's thread for a "
                    "minute", exc)
        self._failed_at = time.monotonic()
        self.close(kill=True)

    def close(self, kill: bool = False) -> None:
        """The helper ends when its pipe closes; a failed or stuck one is killed (it holds
        nothing the writer needs)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if kill:
            proc.kill()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """The helper: a batch (its count of JSON arrays, their lengths, the arrays) in, its
    packed leaves out, until EOF."""
    while True:
        head = requests.read(HEADER.size)
        if len(head) < HEADER.size:
            return
        count = HEADER.unpack(head)[0]
        lengths = struct.unpack(f"<{count}Q", _read(requests, count * HEADER.size))
        chunks = [_read(requests, n) for n in lengths]
        leaves = b"".join(seal.leaves_of(orjson.loads(chunk)) for chunk in chunks)
        answers.write(HEADER.pack(len(leaves)) + leaves)
        answers.flush()


if __name__ == "__main__":
    # a terminal's Ctrl-C or a service manager's SIGTERM reaches the whole group: the helper
    # ends when its writer closes the pipe, after the writer's last batch
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    serve(sys.stdin.buffer, sys.stdout.buffer)
