"""addon/audit/evidence.py: `guarita audit export` and `verify-export`, checked in a folder
without the database; a changed byte is caught."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from addon.audit import access
from tests.conftest import Workspace
from tests.support.store import made
from tests.test_audit_verify import policy_of, write_batches


def test_an_export_checks_without_the_database_and_a_changed_byte_is_caught(
        any_ws: Workspace, tmp_path: Path) -> None:
    policy = policy_of(any_ws)
    write_batches(policy, 2, "servidor")
    write_batches(policy, 1, "membro")
    out = any_ws.root / "caso"
    cp = any_ws.run("audit", "export", "--case", "PAD-7/2026", "--user", "servidor",
                    "--out", str(out), "--purpose", "sindicância")
    assert cp.returncode == 0, cp.stderr
    assert "exported 20 records for case PAD-7/2026" in cp.stdout
    elsewhere = tmp_path / "perito"
    shutil.copytree(out, elsewhere)
    shutil.rmtree(any_ws.var)  # no database, no key, no witness: the folder alone
    cp = any_ws.run("audit", "verify-export", str(elsewhere))
    assert cp.returncode == 0 and "intact: 20 records" in cp.stdout, cp.stdout + cp.stderr
    records = json.loads((elsewhere / "registros.json").read_text())
    assert {r["user"] for r in records} == {"servidor"}
    assert "membro" not in (elsewhere / "provas.json").read_text()  # others: hashes only
    assert "PAD-7/2026" in (elsewhere / "LEIA-ME.txt").read_text()

    changed = tmp_path / "alterado"
    shutil.copytree(elsewhere, changed)
    text = (changed / "registros.csv").read_text()
    (changed / "registros.csv").write_text(text.replace("/p3,", "/p4,", 1))
    cp = any_ws.run("audit", "verify-export", str(changed))
    assert cp.returncode == 1 and "registros.csv: changed" in cp.stdout, cp.stdout


def test_a_record_changed_with_the_manifest_rehashed_is_still_caught(ws: Workspace,
                                                                    tmp_path: Path) -> None:
    import hashlib

    policy = policy_of(ws)
    write_batches(policy, 1)
    out = tmp_path / "caso"
    assert ws.run("audit", "export", "--case", "P-1", "--out", str(out)).returncode == 0
    records = json.loads((out / "registros.json").read_text())
    records[0]["host"] = "outro.example"
    (out / "registros.json").write_text(json.dumps(records))
    manifest = json.loads((out / "MANIFESTO.json").read_text())
    files = json.loads(manifest["files"])
    files["registros.json"] = hashlib.sha256((out / "registros.json").read_bytes()).hexdigest()
    manifest["files"] = json.dumps(files, sort_keys=True)
    (out / "MANIFESTO.json").write_text(json.dumps(manifest))
    cp = ws.run("audit", "verify-export", str(out))
    assert cp.returncode == 1 and "signature is not valid" in cp.stdout, cp.stdout


def test_the_export_is_recorded_and_needs_a_new_folder(ws: Workspace, tmp_path: Path) -> None:
    policy = policy_of(ws)
    write_batches(policy, 1)
    out = tmp_path / "caso"
    assert ws.run("audit", "export", "--case", "P-2", "--user", "servidor", "--out",
                  str(out), "--operator", "corregedor").returncode == 0
    state = made(policy.paths)
    reads = list(access.entries(state, user="servidor"))
    assert reads[0]["action"] == "export" and reads[0]["case_ref"] == "P-2"
    assert reads[0]["reader"] == "corregedor" and reads[0]["door"] == "cli"
    assert state.execute("SELECT count(*) FROM admin_log WHERE action = 'audit.export'"
                         ).fetchone()[0] == 1
    state.close()
    cp = ws.run("audit", "export", "--case", "P-2", "--out", str(out))
    assert cp.returncode == 2 and "not empty" in cp.stderr
    cp = ws.run("audit", "verify-export", str(tmp_path))
    assert cp.returncode == 2 and "not an export" in cp.stderr
