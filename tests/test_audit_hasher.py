"""addon/audit/hasher.py: a real helper process gives the leaves the writer's thread would,
and anything it cannot do falls back to the thread without losing a seal."""

from __future__ import annotations

import io
import logging
import math
import os
import signal
import struct
import time
from collections.abc import Iterator

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from addon.audit import hasher, seal
from addon.audit.columns import COLUMN_TYPES

FIELD = {
    float: st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
    int: st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
    str: st.one_of(st.none(), st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)),
}
# every kind of time: a leaf's is NaN for anything but a finite float (JSON's null for inf)
TIME = st.one_of(st.none(), st.floats(), st.integers(0, 2**40), st.text(max_size=5))
RECORD = st.tuples(TIME, *(FIELD[kind] for _, kind in COLUMN_TYPES[1:]))


@pytest.fixture(scope="module")
def helper() -> Iterator[hasher.Hasher]:
    h = hasher.Hasher(min_batch=1)
    yield h
    h.close()


def rows(n: int, start: float = 1.7e9) -> list[tuple[object, ...]]:
    return [(start + i, f"ref{i}", "servidor", "10.0.0.5", None, 2, 2, "GET", "https",
             "www.gov.br", 443, "/ação", 200, "allow", "level.allowed", '["gov"]', None,
             i, 2 * i, 1.5, "session") for i in range(n)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(RECORD, min_size=1, max_size=12))
def test_the_helpers_leaves_are_the_threads(helper: hasher.Hasher,
                                            batch: list[tuple[object, ...]]) -> None:
    """Any record orjson can encode, with a time of any kind."""
    sent = helper.send(batch)
    assert sent == len(batch)
    assert helper.leaves(sent) == seal.leaves_of(batch)


def test_a_batch_spanning_several_arrays(helper: hasher.Hasher) -> None:
    batch = rows(2 * hasher.CHUNK + 7)
    sent = helper.send(batch)
    assert sent is not None and helper.leaves(sent) == seal.leaves_of(batch)


def test_an_infinite_time_is_no_time_in_either() -> None:
    (ts, _), = seal.unpack(seal.leaves_of([(math.inf, "x")]))
    assert math.isnan(ts)


def test_small_batches_start_no_helper() -> None:
    h = hasher.Hasher()
    assert h.send(rows(hasher.MIN_BATCH - 1)) is None
    assert h._proc is None


def test_a_batch_orjson_refuses_is_hashed_in_the_thread(helper: hasher.Hasher) -> None:
    assert helper.send([(1.0, 2**70)]) is None
    assert helper.send([(1.0, "\ud800")]) is None


def test_an_answer_never_taken_is_drained_before_the_next(helper: hasher.Hasher) -> None:
    """A transaction failed between send and seal: the retried batch gets its own leaves."""
    assert helper.send(rows(3)) == 3
    again = rows(5, start=1.8e9)
    assert helper.send(again) == 5
    assert helper.leaves(5) == seal.leaves_of(again)


def test_a_dead_helper_is_said_once_and_the_thread_hashes_for_a_minute(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    h = hasher.Hasher(min_batch=1)
    batch = rows(10)
    assert h.send(batch) == 10
    assert h._proc is not None
    h._proc.kill()
    h._proc.wait()
    with caplog.at_level(logging.WARNING, "guarita.audit"):
        assert h.leaves(10) is None
    assert [r.getMessage() for r in caplog.records] == [
        "audit leaves helper failed (the leaves helper's pipe closed); hashing in the "
        "writer's thread for a minute"]
    assert h.send(batch) is None  # within the minute: the thread
    later = time.monotonic() + hasher.RETRY_AFTER
    monkeypatch.setattr(hasher.time, "monotonic", lambda: later)
    sent = h.send(batch)
    assert sent == 10 and h.leaves(sent) == seal.leaves_of(batch)
    h.close()
    assert h._proc is None


def test_serve_answers_each_request_until_the_pipe_closes() -> None:
    """The helper's loop itself, on buffers: two requests, two answers, then EOF."""
    a, b = rows(3), rows(4, start=1.9e9)
    request = b""
    for batch in (a, b):
        chunks = [orjson.dumps(batch[:2]), orjson.dumps(batch[2:])]
        request += struct.pack("<3Q", 2, *map(len, chunks)) + b"".join(chunks)
    out = io.BytesIO()
    hasher.serve(io.BytesIO(request), out)
    answers = io.BytesIO(out.getvalue())
    for batch in (a, b):
        size = struct.unpack("<Q", answers.read(8))[0]
        assert answers.read(size) == seal.leaves_of(batch)
    assert answers.read() == b""


def test_a_stuck_helper_is_given_up_on_and_killed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer never waits on a helper longer than ANSWER_WITHIN (here a stopped one)."""
    monkeypatch.setattr(hasher, "ANSWER_WITHIN", 0.3)
    h = hasher.Hasher(min_batch=1)
    sent = h.send(rows(3))
    assert sent == 3 and h.leaves(sent) is not None  # started, answering
    assert h._proc is not None
    proc = h._proc
    os.kill(proc.pid, signal.SIGSTOP)
    assert h.send(rows(3)) == 3  # a few records: they fit the pipe
    t0 = time.monotonic()
    assert h.leaves(3) is None
    assert time.monotonic() - t0 < 3 and proc.poll() is not None  # given up on, and killed
