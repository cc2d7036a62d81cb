"""Console sessions on the server: ended by signing out, by time, by a role taken away, by a
changed password; the
database holds no usable token. On both storage engines."""

from __future__ import annotations

import hashlib

import pytest

from addon.settings.load import load_policy
from addon.state import console_sessions as cs
from tests.conftest import Workspace
from tests.support.store import made


@pytest.fixture
def conn(any_ws: Workspace):  # noqa: ANN201
    c = made(load_policy(any_ws.config, any_ws.root).paths)
    yield c
    c.close()


def test_a_session_lives_until_it_is_ended(conn) -> None:  # noqa: ANN001
    token = cs.start(conn, "ti", frozenset({"ti"}), now=1000.0)
    s = cs.current(conn, token, now=1010.0)
    assert s is not None and s.login == "ti" and s.roles == frozenset({"ti"}) and len(s.csrf) > 30
    stored = [r[0] for r in conn.execute("SELECT id FROM console_sessions").fetchall()]
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]  # never the token itself
    assert cs.current(conn, "forged", now=1010.0) is None and cs.current(conn, None) is None
    cs.end(conn, token, now=1020.0)
    assert cs.current(conn, token, now=1021.0) is None


def test_idle_and_absolute_timeouts(conn) -> None:  # noqa: ANN001
    t0 = 10_000.0
    idle = cs.start(conn, "a", frozenset(), now=t0)
    assert cs.current(conn, idle, now=t0 + cs.IDLE_SECONDS + 1) is None
    busy = cs.start(conn, "b", frozenset(), now=t0)
    t = t0
    while t < t0 + cs.ABSOLUTE_SECONDS - cs.IDLE_SECONDS:
        t += cs.IDLE_SECONDS - 60
        assert cs.current(conn, busy, now=t) is not None  # each page keeps it alive
    assert cs.current(conn, busy, now=t0 + cs.ABSOLUTE_SECONDS + 1) is None
    why = {r[0]: r[1] for r in conn.execute("SELECT login, why FROM console_sessions")}
    assert why == {"a": "timeout", "b": "timeout"}


def test_roles_changed_end_it_and_all_of_a_login_can_be_ended(conn) -> None:  # noqa: ANN001
    token = cs.start(conn, "ti", frozenset({"ti"}), now=1000.0)
    s = cs.current(conn, token, now=1001.0)
    assert s is not None and cs.rechecked(conn, s, frozenset({"ti"}), now=1002.0)
    assert not cs.rechecked(conn, s, frozenset(), now=1003.0)
    assert cs.current(conn, token, now=1004.0) is None
    a, b = cs.start(conn, "ana", frozenset(), now=1000.0), cs.start(conn, "ana", frozenset(),
                                                                     now=1000.0)
    assert cs.end_all(conn, "ana", "blocked", now=1001.0) == 2
    assert cs.current(conn, a, now=1002.0) is None and cs.current(conn, b, now=1002.0) is None
    assert cs.prune(conn, now=1000.0 + cs.ABSOLUTE_SECONDS + 86401) == 3


def test_a_changed_password_stamp_ends_it_an_unknown_one_does_not(conn) -> None:  # noqa: ANN001
    token = cs.start(conn, "ana", frozenset(), now=1000.0, stamp="modifyTimestamp=1")
    s = cs.current(conn, token, now=1001.0)
    assert s is not None and s.stamp == "modifyTimestamp=1"
    assert cs.rechecked(conn, s, frozenset(), now=1002.0, stamp="modifyTimestamp=1")
    assert cs.rechecked(conn, s, frozenset(), now=1003.0, stamp=None)  # the directory was away
    assert not cs.rechecked(conn, s, frozenset(), now=1004.0, stamp="modifyTimestamp=2")
    assert cs.current(conn, token, now=1005.0) is None
    assert conn.execute("SELECT why FROM console_sessions").fetchone()[0] == "password"
    unknown = cs.start(conn, "bia", frozenset(), now=1000.0)  # signed in while it could not say
    s = cs.current(conn, unknown, now=1001.0)
    assert s is not None and cs.rechecked(conn, s, frozenset(), now=1002.0, stamp="x")
