"""transport: every failure to reach a receiver is one line naming the target and why."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from addon.forward.transport import ForwardError, Link, tls_context
from addon.settings.forward import ForwardTarget
from tests.conftest import free_port, wait_until


def test_nothing_listening_is_one_line() -> None:
    target = ForwardTarget(name="siem", host="127.0.0.1", port=free_port())
    with pytest.raises(ForwardError) as refused:
        Link(target)
    assert str(refused.value).startswith("forward siem (127.0.0.1:") and "\n" not in str(
        refused.value) and "cannot connect" in str(refused.value)


def test_unreadable_tls_files_are_one_line(tmp_path: Path) -> None:
    target = ForwardTarget(name="siem", host="127.0.0.1", port=6514, transport="tls",
                           ca_file=str(tmp_path / "missing-ca.pem"))
    with pytest.raises(ForwardError, match="forward siem: cannot use the TLS files"):
        tls_context(target)


def test_a_receiver_that_closes_is_seen_gone() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        link = Link(ForwardTarget(name="siem", host="127.0.0.1", port=server.getsockname()[1]))
        accepted, _ = server.accept()
        assert link.alive()  # open, and a syslog receiver never writes
        accepted.close()
        wait_until(lambda: not link.alive(), timeout=5, what="the receiver's close seen")
        link.close()
