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


def test_an_event_is_filed_the_same_from_every_door_and_its_fields_named(ws: Workspace) -> None:
    """The block page's form and `guarita release event` both file through `file_event`."""
    policy = load_policy(ws.config, ws.root, env={})
    conn = made(policy.paths)
    who = releases.Target("user", "servidor")
    for data, field in (({"inicio": "10:00", "fim": "11:00", "justificativa": "x"}, "data"),
                        ({"data": "10/03/2027", "inicio": "10:00", "fim": "11:00",
                          "justificativa": "x"}, "data"),
                        ({"data": "2027-03-10", "inicio": "dez", "fim": "11:00",
                          "justificativa": "x"}, "inicio"),
                        ({"data": "2027-03-10", "inicio": "10:00", "fim": "11:00",
                          "justificativa": " "}, "justificativa")):
        with pytest.raises(InvalidInput) as err:
            service.file_event(conn, policy, who, "zoom", "servidor", data)
        assert err.value.field == field, data
        if data.get("data") == "10/03/2027":
            assert err.value.for_user == "Data do evento: deve ser uma data (AAAA-MM-DD)"
    rid = service.file_event(conn, policy, who, "zoom", "servidor",
                             {"data": "2027-03-10", "inicio": "10:00", "fim": "11:00",
                              "justificativa": "seminário", "ref": "3f2a1c4-1b",
                              "date": "ignored: extra fields are not the request's"})
    row = releases.fetch(conn, rid)
    assert row["kind"] == "event" and row["status"] == "requested"
    conn.close()
    cp = ws.run("release", "event", "--to", "user:servidor", "--platform", "zoom", "--date",
                "10/03/2027", "--start", "10:00", "--end", "11:00", "--reason", "x")
    assert cp.returncode == 2 and "--date: deve ser uma data" in cp.stderr, cp.stderr
