"""The loader: every kind of mistake is one line naming the file and the key; the deployment
sections are validated apart and placed at their path; the environment is read here."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from addon.errors import PolicyError
from addon.settings.load import load_policy, split
from tests.conftest import ROOT, Workspace

SHIPPED = (ROOT / "config" / "policy.yaml").read_text()


def refused(ws: Workspace, old: str, new: str) -> list[str]:
    assert old in SHIPPED, old
    ws.config.write_text(SHIPPED.replace(old, new, 1))
    with pytest.raises(PolicyError) as exc:
        load_policy(ws.config, ws.root, env={})
    lines = str(exc.value).splitlines()
    assert all(line.startswith(f"{ws.config}: ") for line in lines)
    return [line.removeprefix(f"{ws.config}: ") for line in lines]


@pytest.mark.parametrize("old, new, line", [
    # a misspelt section: once, adult sites went through at level 2
    ("blocked:\n", "blokced:\n", "blokced: unknown key (did you mean 'blocked'?)"),
    # a misspelt required section: the typo is named with what it was meant to be, once
    ("timezone: America", "timezon: America", "timezon: unknown key (did you mean 'timezone'?)"),
    # misspelt nested keys that opened access
    ("    allow_only: [government,", "    allow_onyl: [government,",
     "levels.1.allow_onyl: unknown key (did you mean 'allow_only'?)"),
    ("    outside_business_hours_only:", "    outside_bussiness_hours_only:",
     "levels.2.outside_bussiness_hours_only: unknown key (did you mean "
     "'outside_business_hours_only'?)"),
    ("servidor: {groups:", "servidor: {group:",
     "directory.users.servidor.group: unknown key (did you mean 'groups'?)"),
    ("  allow: []", "  alow: []", "ip_literals.alow: unknown key (did you mean 'allow'?)"),
    # a deployment section misspelt: it used to load and run on SQLite
    ("  state: ../var", "  state: ../var\nstorgae:\n  database: sqlite",
     "storgae: unknown key (did you mean 'storage'?)"),
    ("  cache_seconds: 300", "  cache_seconds: 300\n    negotiat: {keytab: k}",
     "directory.authentication.negotiat: unknown key (did you mean 'negotiate'?)"),
    # wrong types: a number as text is a mistake, not a number
    ("  max_failures: 5", '  max_failures: "5"',
     "directory.authentication.max_failures: must be a whole number, got text"),
    ("  kind: static", "  kind: statc",
     "directory.kind: must be one of 'static', 'ldap', got 'statc'"),
    # names that must be declared elsewhere
    ("{name: conteudo_proibido, rules: [category.blocked],",
     "{name: conteudo_proibido, rules: [category.blocked], categories: [adlut],",
     "violations.rules[0].categories: unknown category 'adlut' (declare it under 'categories')"),
    ("    grp-video: [video]", "    grp-video: [vdeo]",
     "directory.special_groups.grp-video: unknown special group 'vdeo' (declare it under "
     "'special_groups')"),
    # level 4 is always time-limited: never a group's, a user's or a machine's
    ("servidor: {groups: [servidores]", "servidor: {level: 4, groups: [servidores]",
     "directory.users.servidor.level: a user's level comes from its groups; level 4 is always "
     "time-limited: grant it with `guarita release level`"),
    ("    servidores: 2", "    servidores: 4", "directory.groups.servidores: level must be 0 to 3 "
     "(level 4 is always time-limited: grant it with `guarita release level`)"),
    ("level: 1, note:", "level: 4, note:", "machines[0].level: must be at most 3, got 4"),
    # deployment values, placed at their path in the file
    ("  state: ../var", "  state: ../var\nstorage: {database: 'mysql://x'}",
     "storage.database: must be sqlite or a postgresql:// URL"),
    ("  kind: static", "  kind: ldap", "directory.ldap: missing (directory.kind is ldap)"),
])
def test_each_kind_of_mistake_is_one_line_naming_the_key(ws: Workspace, old: str, new: str,
                                                        line: str) -> None:
    assert refused(ws, old, new) == [line]


def test_every_mistake_is_reported_at_once(ws: Workspace) -> None:
    text = SHIPPED.replace("blocked:\n", "blokced:\n", 1).replace("    servidores: 2",
                                                                   "    servidores: 9", 1)
    ws.config.write_text(text + "cluster: {nodes: [sem-porta]}\n")
    with pytest.raises(PolicyError) as exc:
        load_policy(ws.config, ws.root, env={})
    keys = [line.split(": ")[1] for line in str(exc.value).splitlines()]
    assert keys == ["blokced", "directory.groups.servidores", "cluster.nodes[0]"]  # file order


def test_the_database_url_of_the_environment_wins_and_is_checked(ws: Workspace) -> None:
    url = "postgresql://guarita@db.exemplo/guarita"
    assert load_policy(ws.config, ws.root, env={"GUARITA_DATABASE_URL": url}).paths.database == url
    assert load_policy(ws.config, ws.root, env={}).paths.database == ""
    with pytest.raises(PolicyError, match="storage.database: must be sqlite or a postgresql"):
        load_policy(ws.config, ws.root, env={"GUARITA_DATABASE_URL": "mysql://x"})


def test_deployment_sections_are_split_from_the_rules() -> None:
    tree = yaml.safe_load(SHIPPED)
    tree["storage"] = {"database": "sqlite"}
    tree["directory"]["authentication"]["negotiate"] = {"keytab": "k"}
    tree["notifications"] = {"smtp": {"host": "mail"}}
    rules, node = split(tree)
    assert set(node) == {"storage", "negotiate", "smtp"}
    assert "storage" not in rules and "negotiate" not in rules["directory"]["authentication"]
    assert rules["notifications"] == {} and "storage" in tree  # the file's own tree untouched


def test_the_keytab_is_resolved_beside_the_policy(ws: Workspace) -> None:
    ws.config.write_text(SHIPPED.replace("  cache_seconds: 300", "  cache_seconds: 300\n"
                                         "    negotiate: {keytab: proxy.keytab, principal: "
                                         "HTTP/p.exemplo@EXEMPLO}", 1))
    negotiate = load_policy(ws.config, ws.root, env={}).auth.negotiate
    assert negotiate is not None and negotiate.keytab == (ws.config.parent / "proxy.keytab").resolve()
    assert negotiate.realms == frozenset({"EXEMPLO"})


def test_the_cli_and_check_refuse_with_one_line_per_mistake(ws: Workspace) -> None:
    ws.config.write_text(SHIPPED.replace("blocked:\n", "blokced:\n", 1)
                         .replace("  allow: []", "  alow: []", 1))
    cp = ws.run("check", "--config", str(ws.config), "https://www.gov.br/", "--level", "1")
    assert cp.returncode == 2 and "Traceback" not in cp.stderr
    assert cp.stderr.splitlines() == [
        f"guarita: error: {ws.config}: blokced: unknown key (did you mean 'blocked'?)",
        f"guarita: error: {ws.config}: ip_literals.alow: unknown key (did you mean 'allow'?)"]


def test_a_long_list_of_mistakes_is_cut_with_a_count(tmp_path: Path, ws: Workspace) -> None:
    tree = yaml.safe_load(SHIPPED)
    tree["blocked"] = [f"nao-existe-{i}" for i in range(30)]
    for level in (2, 3):  # their justified categories are no longer blocked: 14 more
        tree["levels"][level].pop("justify")
    ws.config.write_text(yaml.safe_dump(tree, allow_unicode=True))
    with pytest.raises(PolicyError) as exc:
        load_policy(ws.config, ws.root, env={})
    lines = str(exc.value).splitlines()
    assert len(lines) == 21 and lines[-1].endswith("… and 10 more mistakes")
