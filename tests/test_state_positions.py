"""positions: one row per target, saved over, read back, listed."""

from __future__ import annotations

from addon.settings.load import load_policy
from addon.state import positions
from tests.conftest import Workspace
from tests.support.store import made


def test_a_position_is_saved_over_and_read_back(any_ws: Workspace) -> None:
    conn = made(load_policy(any_ws.config).paths)
    assert positions.read(conn, "siem") is None
    positions.save(conn, "siem", 10, 2, now=100.0)
    positions.save(conn, "siem", 25, 3, now=200.0)
    positions.save(conn, "graylog", 1, 0, now=150.0)
    assert positions.read(conn, "siem") == (25, 3)
    assert positions.every(conn) == {"graylog": (1, 0, 150.0), "siem": (25, 3, 200.0)}
    conn.close()
