"""Requests filed and decided through the service, as every front door does."""

from __future__ import annotations

import pytest

from addon.service import requests as service
from addon.service.inputs import InvalidInput
from addon.settings.load import load_policy
from addon.state import releases
from tests.conftest import Workspace
from tests.support.store import made


def test_file_deny_appeal_and_approve(ws: Workspace) -> None:
    policy = load_policy(ws.config, ws.root, env={})
    conn = made(policy.paths)
    rid = service.file_access(conn, policy, "servidor", {"site": "WWW.YOUTUBE.COM",
                                                         "justificativa": "curso", "dias": "30"},
                              from_form=True)
    row = releases.fetch(conn, rid)
    assert row["obj"] == "www.youtube.com" and row["status"] == "requested"
    assert row["end"] - row["start"] == pytest.approx(policy.release_max_days * 86400, abs=5)
    with pytest.raises(InvalidInput, match="motivo"):
        service.deny(conn, policy, rid, "comite", {"motivo": " "})
    assert releases.fetch(conn, rid)["status"] == "requested"  # nothing changed
    service.deny(conn, policy, rid, "comite", {"motivo": "sem relação com o serviço"})
    service.appeal(conn, policy, rid, "servidor", {"motivo": "é para o curso da escola"})
    service.approve(conn, policy, rid, "comite", {"comite": "ata 12/2026"}, ("video",))
    row = releases.fetch(conn, rid)
    assert row["status"] == "active" and row["committee_ref"] == "ata 12/2026"
    conn.close()
