"""addon/audit/access.py and addon/service/reads.py: every read recorded, from each door
(CLI, console, API), chained; a case reference when the policy requires one."""

from __future__ import annotations

import re
from typing import Any

import yaml

from addon.audit import access
from addon.console.app import create_app
from addon.settings.load import load_policy
from tests.conftest import Workspace
from tests.support.store import made
from tests.test_audit_verify import policy_of, write_batches


def reads(ws: Workspace) -> list[dict[str, Any]]:
    state = made(load_policy(ws.config, ws.root).paths)
    try:
        return list(access.entries(state))
    finally:
        state.close()


def test_the_cli_records_each_question(any_ws: Workspace) -> None:
    write_batches(policy_of(any_ws), 1)
    assert any_ws.run("audit", "query", "--user", "servidor", "--purpose", "chamado 12"
                      ).returncode == 0
    assert any_ws.run("audit", "report", "--by", "host").returncode == 0
    assert any_ws.run("audit", "violations").returncode == 0
    got = reads(any_ws)
    assert [r["action"] for r in got] == ["violations", "report", "query"]
    assert got[2]["subject_user"] == "servidor" and got[2]["purpose"] == "chamado 12"
    cp = any_ws.run("audit", "access", "--user", "servidor", "--format", "json")
    assert cp.returncode == 0 and '"action": "query"' in cp.stdout


def test_the_console_and_the_api_record_reads(ws: Workspace, monkeypatch: Any) -> None:
    write_batches(policy_of(ws), 1)
    monkeypatch.chdir(ws.root)
    app = create_app(ws.config)
    app.testing = True
    c = app.test_client()
    page = c.get("/entrar").get_data(as_text=True)
    token = re.search(r'id="login-csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert c.post("/entrar", data={"login": "auditor", "senha": "auditor",
                                   "csrf": token}).status_code == 302
    assert c.get("/auditoria?usuario=servidor&processo=PAD-1&finalidade=apurar").status_code == 200
    auth = {"Authorization": "Basic YXVkaXRvcjphdWRpdG9y"}  # auditor:auditor
    r = app.test_client().get("/api/auditoria?ip=10.0.0.5&limite=3", headers=auth)
    assert r.status_code == 200 and len(r.get_json()) == 3
    got = reads(ws)
    assert (got[0]["door"], got[0]["subject_ip"]) == ("api", "10.0.0.5")
    assert (got[1]["door"], got[1]["subject_user"], got[1]["case_ref"], got[1]["purpose"]) == (
        "console", "servidor", "PAD-1", "apurar")
    servidor = {"Authorization": "Basic c2Vydmlkb3I6c2Vydmlkb3I="}
    assert app.test_client().get("/api/auditoria", headers=servidor).status_code == 403


def test_a_case_is_required_for_a_named_person_when_the_policy_says(ws: Workspace) -> None:
    tree = yaml.safe_load(ws.config.read_text())
    tree["audit"]["require_case_for_person"] = True
    ws.config.write_text(yaml.safe_dump(tree, allow_unicode=True))
    write_batches(policy_of(ws), 1)
    cp = ws.run("audit", "query", "--user", "servidor")
    assert cp.returncode == 2 and "case reference" in cp.stderr
    assert ws.run("audit", "query", "--user", "servidor", "--case", "PAD-3").returncode == 0
    assert ws.run("audit", "report").returncode == 0  # nobody named: no case needed
    assert [r["case_ref"] for r in reads(ws)] == [None, "PAD-3"]


def test_a_changed_read_breaks_the_access_chain(ws: Workspace) -> None:
    write_batches(policy_of(ws), 1)
    for _ in range(3):
        assert ws.run("audit", "report").returncode == 0
    assert ws.run("audit", "verify").returncode == 0
    state = made(load_policy(ws.config, ws.root).paths)
    state.execute("DROP TRIGGER audit_access_no_update")  # what someone with the file can do
    state.execute("UPDATE audit_access SET reader = 'ninguem' WHERE id = 2")
    state.commit()
    state.close()
    cp = ws.run("audit", "verify")
    assert cp.returncode == 1 and "access log entry 2" in cp.stdout, cp.stdout
