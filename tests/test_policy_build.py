"""A declared policy becomes the core's value objects: names folded once, paths resolved
against the policy's folder, loopback always forbidden, deployment values carried."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import yaml

from addon.policy.build import build_policy, calendar_of
from addon.policy.document import PolicyDocument
from addon.settings.deployment import NodeSettings, StorageSettings
from addon.settings.load import split
from tests.conftest import ROOT

RULES, _ = split(yaml.safe_load((ROOT / "config" / "policy.yaml").read_text()))


def test_names_are_folded_and_loopback_is_never_optional(tmp_path: Path) -> None:
    tree = {**RULES, "destinations": {"forbidden": ["10.9.0.0/16"]},
            "directory": {**RULES["directory"], "groups": {"Servidores": 2},
                          "users": {"Ana": {"groups": ["Servidores"], "chief": "Chefe"}}}}
    node = NodeSettings(storage=StorageSettings(database="postgresql://g@db/g"))
    policy = build_policy(PolicyDocument.model_validate(tree), node, tmp_path / "p.yaml", "d",
                          tmp_path / "w")
    assert policy.group_levels == {"servidores": 2}
    assert policy.users["ana"].groups == frozenset({"servidores"}) and policy.users["ana"].chief == "chefe"
    assert ipaddress.ip_network("127.0.0.0/8") in policy.forbidden_networks
    assert ipaddress.ip_network("10.9.0.0/16") in policy.forbidden_networks
    assert policy.paths.database == "postgresql://g@db/g" and policy.digest == "d"
    assert policy.paths.state_dir == tmp_path / "../var"  # named beside the policy
    assert policy.notify.rules[0].name == "conteudo_proibido" and not policy.notify.enabled


def test_without_state_it_is_var_where_guarita_runs(tmp_path: Path) -> None:
    tree = {**RULES, "paths": {}}
    policy = build_policy(PolicyDocument.model_validate(tree), NodeSettings(), tmp_path / "p.yaml",
                          "", tmp_path / "w")
    assert policy.paths.state_dir == tmp_path / "w" / "var"
    assert policy.paths.category_dirs == ((tmp_path / "../categories").resolve(),)


def test_the_calendar_has_the_declared_hours_and_days() -> None:
    cal = calendar_of(PolicyDocument.model_validate(
        {**RULES, "business_hours": {"start": "07:00", "end": "13:00", "weekdays": ["sat"]}}))
    assert cal.weekdays == frozenset({5}) and cal.start.hour == 7 and cal.end.hour == 13
