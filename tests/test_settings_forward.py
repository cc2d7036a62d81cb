"""audit.forward: each mistake one line naming the key; files resolved beside the policy."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from addon.errors import PolicyError
from addon.settings.load import load_policy
from tests.conftest import Workspace

TARGET = {"name": "siem", "host": "127.0.0.1", "port": 6514}


def loaded(ws: Workspace, *targets: dict) -> object:
    tree = yaml.safe_load(ws.config.read_text())
    tree.setdefault("audit", {})["forward"] = list(targets)
    ws.config.write_text(yaml.safe_dump(tree, allow_unicode=True))
    return load_policy(ws.config)


@pytest.mark.parametrize("target, problem", [
    ({**TARGET, "hots": "x"}, "audit.forward[0].hots: unknown key (did you mean 'host'?)"),
    ({**TARGET, "port": 0}, "audit.forward[0].port:"),
    ({**TARGET, "format": "leef"}, "audit.forward[0].format:"),
    ({**TARGET, "fields": ["usr"]}, "audit.forward[0].fields: unknown field 'usr'"),
    ({**TARGET, "ca_file": "ca.pem"}, "ca_file, cert_file and key_file need transport: tls"),
    ({**TARGET, "transport": "tls", "cert_file": "c.pem"}, "cert_file and key_file go together"),
    ({**TARGET, "name": "SIEM central"}, "audit.forward[0].name: must be a short name"),
    ({**TARGET, "pseudonymise": {"key_env": "A", "key_file": "k"}}, "exactly one of key_env"),
    ({**TARGET, "pseudonymise": {"key_env": "A", "fields": ["login"]}},
     "audit.forward[0].pseudonymise.fields[0]:"),
])
def test_a_mistake_is_one_line_naming_the_key(ws: Workspace, target: dict, problem: str) -> None:
    with pytest.raises(PolicyError) as refused:
        loaded(ws, target)
    assert problem in str(refused.value) and "\n" not in str(refused.value)


def test_two_targets_of_one_name_are_refused(ws: Workspace) -> None:
    with pytest.raises(PolicyError, match="two targets named 'siem'"):
        loaded(ws, TARGET, {**TARGET, "port": 514})


def test_files_travel_with_the_policy_and_the_id_is_always_sent(ws: Workspace) -> None:
    policy = loaded(ws, {**TARGET, "transport": "tls", "ca_file": "siem-ca.pem",
                         "fields": ["ts", "host"],
                         "pseudonymise": {"key_file": "siem.key"}})
    [t] = policy.audit_forward  # type: ignore[attr-defined]
    folder = ws.config.resolve().parent
    assert Path(t.ca_file) == folder / "siem-ca.pem"
    assert Path(t.pseudonymise.key_file) == folder / "siem.key"
    assert t.fields == ("id", "ts", "host")


def test_the_check_command_refuses_a_misspelt_target(ws: Workspace) -> None:
    tree = yaml.safe_load(ws.config.read_text())
    tree.setdefault("audit", {})["forward"] = [{**TARGET, "trasnport": "tls"}]
    ws.config.write_text(yaml.safe_dump(tree, allow_unicode=True))
    cp = ws.run("check", "--config", str(ws.config), "http://www.gov.br/")
    assert cp.returncode == 2 and "audit.forward[0].trasnport: unknown key (did you mean " \
        "'transport'?)" in cp.stderr
