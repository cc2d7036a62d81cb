"""pydantic's errors as a person reads them: the key's path in the file, the problem, and for a
misspelt key the key meant. Tried on every declared key of a policy that uses every section."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from addon.errors import PolicyError
from addon.policy.document import PolicyDocument
from addon.settings import problems
from addon.settings.load import APART, load_policy
from tests.conftest import ROOT, Workspace

FULL: dict[str, Any] = yaml.safe_load((ROOT / "config" / "policy.yaml").read_text())
FULL["storage"] = {"database": "sqlite"}
FULL["cluster"] = {"nodes": ["p1:3128"], "direct_domains": ["intranet.local"]}
FULL["logon"] = {"conflicts": "newest", "sources": {"dc": {"scope": "collector",
                                                           "token_file": "/etc/t"}}}
FULL["notifications"] = {"smtp": {"host": "mail", "port": 587, "timeout_seconds": 5},
                         "committee": ["c@x.gov"], "digest": "weekly"}
FULL["directory"]["ldap"] = {"servers": ["ldap://d"], "bind_dn": "cn=x", "user_base": "ou=p"}
FULL["directory"]["authentication"]["negotiate"] = {"keytab": "k", "realms": ["R"]}


def declared_keys(tree: Any, loc: tuple[int | str, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key of the file that a model declares (not a name the policy chooses, such as a
    category or a login)."""
    if isinstance(tree, dict):
        known = problems.keys_at(PolicyDocument, loc) + APART.get(tuple(map(str, loc)), [])
        for key, value in tree.items():
            if key in known:
                yield (*loc, key)
            yield from declared_keys(value, (*loc, key))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            yield from declared_keys(value, (*loc, i))


KEYS = sorted(declared_keys(FULL), key=str)


def swapped(key: str) -> str:
    """A typo: the two middle letters swapped (or a letter doubled when they are equal)."""
    i = max(len(key) // 2 - 1, 0)
    typo = key[:i] + key[i + 1] + key[i] + key[i + 2:]
    return typo if typo != key else key[:i] + key[i] + key[i:]


def test_the_walk_reaches_every_section() -> None:
    assert len(KEYS) > 70
    assert {k[0] for k in KEYS} >= {"storage", "cluster", "notifications", "directory", "levels"}


@pytest.mark.parametrize("loc", KEYS, ids=lambda loc: ".".join(map(str, loc)))
def test_a_misspelt_key_anywhere_names_itself_and_the_key_meant(ws: Workspace,
                                                                 loc: tuple[Any, ...]) -> None:
    tree = yaml.safe_load(yaml.safe_dump(FULL, allow_unicode=True))
    parent = tree
    for part in loc[:-1]:
        parent = parent[part]
    key = loc[-1]
    parent[swapped(key)] = parent.pop(key)
    ws.config.write_text(yaml.safe_dump(tree, allow_unicode=True))
    with pytest.raises(PolicyError) as exc:
        load_policy(ws.config, ws.root, env={})
    lines = str(exc.value).splitlines()
    where = problems.path_of(PolicyDocument, (*loc[:-1], swapped(key)))
    assert f"{ws.config}: {where}: unknown key (did you mean '{key}'?)" in lines, lines


def test_paths_put_list_indexes_in_brackets_and_mapping_keys_after_dots() -> None:
    assert problems.path_of(PolicyDocument, ("levels", 1, "allow_only")) == "levels.1.allow_only"
    assert problems.path_of(PolicyDocument, ("machines", 0, "level")) == "machines[0].level"
    assert problems.path_of(PolicyDocument, ("violations", "rules", 2)) == "violations.rules[2]"
    assert problems.path_of(PolicyDocument, ("cluster", "nodes"), "x") == "x.cluster.nodes"


def test_keys_at_follows_mappings_lists_and_optional_sections() -> None:
    assert "allow_only" in problems.keys_at(PolicyDocument, ("levels", 3))
    assert "network" in problems.keys_at(PolicyDocument, ("machines", 7))
    assert "digest_hour" in problems.keys_at(PolicyDocument, ("notifications",))
    assert problems.keys_at(PolicyDocument, ("categories",)) == []  # names the policy chooses


def test_wrong_types_say_what_was_found_in_yaml_words() -> None:
    tree = {**FULL, "releases": {"max_days": "7"}, "blocked": "adult"}
    for section in ("storage", "cluster", "logon"):
        tree.pop(section, None)
    tree["directory"] = {k: v for k, v in FULL["directory"].items() if k != "ldap"}
    tree["directory"]["authentication"] = {"cache_seconds": True}
    tree["notifications"] = None
    with pytest.raises(ValidationError) as exc:
        PolicyDocument.model_validate(tree)
    found = {p.key: p.problem for p in problems.lines(exc.value, PolicyDocument)}
    assert found == {"releases.max_days": "must be a whole number, got text",
                     "blocked": "must be a list, got text",
                     "directory.authentication.cache_seconds": "must be a number, got true/false"}


@given(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=4),
       st.lists(st.integers(0, 3), max_size=3))
def test_position_orders_by_the_file(keys: list[str], indexes: list[int]) -> None:
    tree: dict[str, Any] = {"z": 1, "a": {"b": [{"c": 1}] * 4}, "b": 2}
    first, later = problems.position(tree, ("z",)), problems.position(tree, ("b",))
    assert first < problems.position(tree, ("a", *keys)) < later
    assert problems.position(tree, ("a", "b", *indexes)) >= problems.position(tree, ("a",))
