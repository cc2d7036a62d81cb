"""state.holds: legal holds placed, listed and released, in the history, on both engines."""

from __future__ import annotations

import time

import pytest

from addon.errors import StateError
from addon.settings.load import load_policy
from addon.state import holds
from tests.conftest import Workspace
from tests.support.store import made


@pytest.fixture
def conn(any_ws: Workspace):  # noqa: ANN201
    c = made(load_policy(any_ws.config, any_ws.root).paths)
    yield c
    c.close()


def test_a_hold_keeps_its_subject_until_its_end_or_its_release(conn) -> None:  # noqa: ANN001
    now = time.time()
    a = holds.add(conn, "PAD-7/2026", "user", " Servidor ", None, "processo disciplinar", "ti")
    b = holds.add(conn, "PAD-8/2026", "ip", "::ffff:10.0.0.5", now + 3600, "perícia", "ti")
    assert holds.kept(conn) == holds.Kept(frozenset({"servidor"}), frozenset({"10.0.0.5"}))
    assert holds.kept(conn, now + 7200) == holds.Kept(frozenset({"servidor"}))  # b has ended
    holds.release(conn, a, "Corregedoria", "ti")
    assert holds.kept(conn, now + 7200) == holds.NOBODY and not holds.NOBODY
    assert [r["id"] for r in holds.listing(conn)] == [b]
    assert [r["released_by"] for r in holds.listing(conn, include_released=True)] == [
        "Corregedoria", None]
    actions = [r[0] for r in conn.execute("SELECT action FROM admin_log ORDER BY id")]
    assert actions == ["audit.hold", "audit.hold", "audit.hold.release"]


@pytest.mark.parametrize("args, problem", [
    (("", "user", "servidor", None, "x"), "--case"),
    (("PAD", "user", " ", None, "x"), "--user"),
    (("PAD", "ip", "10.0.0.999", None, "x"), "10.0.0.999"),
    (("PAD", "user", "servidor", None, " "), "--reason"),
    (("PAD", "user", "servidor", 1.0, "x"), "future"),
])
def test_a_hold_needs_its_case_subject_reason_and_a_future_end(conn, args, problem) -> None:  # noqa: ANN001
    with pytest.raises(Exception, match=problem):
        holds.add(conn, *args, "ti")
    assert holds.listing(conn) == []


def test_releasing_names_who_authorised_and_happens_once(conn) -> None:  # noqa: ANN001
    hid = holds.add(conn, "PAD-1", "user", "membro", None, "x", "ti")
    with pytest.raises(StateError, match="--authorized-by"):
        holds.release(conn, hid, " ", "ti")
    holds.release(conn, hid, "SubPGJ", "ti")
    with pytest.raises(StateError, match="already released"):
        holds.release(conn, hid, "SubPGJ", "ti")
    with pytest.raises(StateError, match="no hold #99"):
        holds.release(conn, 99, "SubPGJ", "ti")
