"""service.justify: the engine decides again what a door asks to open; revoking from the CLI."""

from __future__ import annotations

import json
import time

import pytest

from addon.runtime import RuntimeSource
from addon.service import justify
from addon.service.inputs import InvalidInput
from addon.state.justifications import JustificationError
from tests.conftest import Workspace

WHY = "material do treinamento de licitações"


@pytest.fixture
def source(ws: Workspace):  # noqa: ANN201
    src = RuntimeSource(ws.config, ws.root)
    yield src
    src.close()


def test_a_door_opens_only_what_the_engine_finds_justifiable_for_that_person(
        source: RuntimeSource) -> None:
    rt, conn = source.current, source.connection()
    servidor = rt.identity("servidor", "10.0.0.5", time.time())
    opened = justify.open_site(conn, rt, servidor, " WWW.YouTube.com. ", WHY,
                               "10.0.0.5", "not-a-ref")
    assert opened.domain == "youtube.com"
    row = conn.execute("SELECT login, ref, client_ip FROM justifications").fetchone()
    assert tuple(row) == ("servidor", None, "10.0.0.5")  # a reference not ours is not kept
    source.refresh(force_state=True)
    assert source.current.decide("www.youtube.com", servidor, time.time()).rule == "justified"
    with pytest.raises(JustificationError, match="already open"):
        justify.open_site(conn, source.current, servidor, "www.youtube.com", WHY)
    estagiario = rt.identity("estagiario", None, time.time())
    with pytest.raises(JustificationError, match="not justifiable"):  # level 1's allow-list
        justify.open_site(conn, rt, estagiario, "www.youtube.com", WHY)
    with pytest.raises(InvalidInput):
        justify.open_site(conn, rt, servidor, "exa mple..com", WHY)
    nobody = rt.identity(None, "10.9.9.9", time.time())
    with pytest.raises(JustificationError, match="identified user"):
        justify.open_site(conn, rt, nobody, "www.youtube.com", WHY)


def test_revoking_from_the_command_line_closes_the_site_and_counts_it(
        source: RuntimeSource, ws: Workspace) -> None:
    rt, conn = source.current, source.connection()
    servidor = rt.identity("servidor", None, time.time())
    opened = justify.open_site(conn, rt, servidor, "www.youtube.com", WHY)
    cp = ws.run("justify", "revoke", str(opened.id), "--violation", "--operator", "chefe")
    assert cp.returncode == 2 and "needs a reason" in cp.stderr and "Traceback" not in cp.stderr
    cp = ws.run("justify", "revoke", str(opened.id), "--violation", "--reason",
                "assistia a jogos de futebol", "--operator", "chefe", check=True)
    assert "counted as a violation" in cp.stdout
    source.refresh(force_state=True)
    assert source.current.decide("www.youtube.com", servidor, time.time()).rule == \
        "category.blocked"
    [j] = json.loads(ws.run("justify", "list", "--user", "SERVIDOR", "--format", "json",
                            check=True).stdout)
    assert (j["revoked_by"], j["violation"], j["revoke_reason"]) == (
        "chefe", True, "assistia a jogos de futebol")
    assert json.loads(ws.run("justify", "list", "--user", "membro", "--format", "json",
                             check=True).stdout) == []
