"""Runtime: one immutable value per state; the identity memo dies with it."""

from __future__ import annotations

import time

from addon.identity.negotiate import make_acceptor
from addon.identity.static import StaticDirectory
from addon.policy.model import Policy
from addon.runtime import IDENTITY_MEMO_SECONDS, RuntimeSource
from addon.state import blocks, releases
from tests.conftest import use_kerberos


class CountingDirectory(StaticDirectory):
    def __init__(self, policy: Policy) -> None:
        super().__init__(policy)
        self.asked = 0

    def lookup(self, login: str):  # noqa: ANN201
        self.asked += 1
        return super().lookup(login)


def test_identity_memo_is_per_runtime_and_bounded_in_time(ws) -> None:  # noqa: ANN001
    source = RuntimeSource(ws.config, ws.root, directory_factory=CountingDirectory)
    rt = source.current
    directory = rt.directory
    assert isinstance(directory, CountingDirectory)
    now = time.time()
    first = rt.identity("servidor", "10.0.0.7", now)
    assert rt.identity("servidor", "10.0.0.7", now + 1) is first and directory.asked == 1
    assert rt.identity("servidor", "10.0.0.8", now + 1) is not first  # per address
    rt.identity("servidor", "10.0.0.7", now + IDENTITY_MEMO_SECONDS + 0.1)  # expired
    rt.identity("servidor", "10.0.0.7", now - 1)  # a clock that went back
    assert directory.asked == 4


def test_a_state_change_is_a_new_runtime_seen_at_once(ws) -> None:  # noqa: ANN001
    source = RuntimeSource(ws.config, ws.root)
    rt = source.current
    now = time.time()
    assert rt.identity("servidor", "10.0.0.7", now).blocked_user is None
    other = __import__("addon.state.db", fromlist=["connect"]).connect(ws.var)
    blocks.block(other, "user", "servidor", "Art. 19", "ti")
    assert source.refresh() == [] and source.current is not rt
    assert source.current.identity("servidor", "10.0.0.7", now).blocked_user == "Art. 19"
    assert rt.identity("servidor", "10.0.0.7", now).blocked_user is None  # the old one is intact
    releases.grant_level4(other, "servidor", now + 86400, "CGTI-1/2026", "projeto", "ti")
    source.refresh()
    ident = source.current.identity("servidor", "10.0.0.7", now + 1)
    assert ident.level4_until == now + 86400
    assert source.refresh() == [] and source.current is source.current  # nothing changed


def test_group_names_from_the_directory_are_case_folded(ws) -> None:  # noqa: ANN001
    rt = RuntimeSource(ws.config, ws.root).current
    ident = rt.identity(None, None, time.time(), groups=frozenset({"SERVIDORES", "Grp-Video"}))
    assert ident.base_level == 2 and "grp-video" in ident.groups and ident.special_groups


def test_a_keytab_the_proxy_cannot_use_keeps_the_whole_last_good_runtime(ws, kdc) -> None:  # noqa: ANN001
    use_kerberos(ws, kdc)
    source = RuntimeSource(ws.config, ws.root, acceptor_factory=make_acceptor)
    good = source.current
    assert good.negotiate is not None
    text = ws.config.read_text()
    ws.config.write_text(text.replace(str(kdc.keytab), str(ws.root / "gone.keytab"))
                         .replace("default_level: 1", "default_level: 2"))
    said = source.refresh()
    assert any("keeping the last good one" in s and "gone.keytab" in s for s in said), said
    assert source.current is good and source.current.policy.default_level == 1
    ws.config.write_text(text)
    assert any("fixed: adopted again" in s for s in source.refresh())
    assert source.current.negotiate is not None and source.broken is None
