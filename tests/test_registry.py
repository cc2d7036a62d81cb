"""The directory a policy names comes from one registry, by `directory.kind`; every kind
answers the same interface, so no caller probes what it was given."""

from __future__ import annotations

import dataclasses

import pytest

from addon.errors import PolicyError, UnknownUser
from addon.identity.cache import CachedDirectory
from addon.identity.directory import Directory
from addon.identity.ldap import LdapDirectory
from addon.identity.registry import KINDS, make_directory
from addon.identity.static import StaticDirectory
from addon.settings.deployment import LdapSettings
from addon.settings.load import load_policy
from tests.conftest import Workspace


def test_every_kind_the_policy_may_name_is_registered() -> None:
    from addon.policy.document import Directory as DirectorySection

    kinds = DirectorySection.model_fields["kind"].annotation
    assert set(KINDS) == set(kinds.__args__)  # type: ignore[union-attr]


def test_static_answers_from_memory_and_reports_nothing(ws: Workspace) -> None:
    d: Directory = make_directory(load_policy(ws.config, ws.root, env={}))
    assert isinstance(d, StaticDirectory) and d.peek("quem-quer-que-seja")
    seen: list[str] = []
    d.watch(seen.append)
    assert d.lookup(" Servidor ").groups == frozenset({"servidores"}) and seen == []
    with pytest.raises(UnknownUser):
        d.lookup("ninguem")


def test_ldap_is_behind_the_cache_which_reports_its_lookups(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARITA_TEST_BIND", "segredo")
    policy = load_policy(ws.config, ws.root, env={})
    settings = LdapSettings(servers=("ldap://127.0.0.1:1",), bind_dn="cn=x", user_base="ou=p",
                            bind_password_env="GUARITA_TEST_BIND")
    d = make_directory(dataclasses.replace(policy, directory_kind="ldap", ldap=settings))
    assert isinstance(d, CachedDirectory) and isinstance(d.inner, LdapDirectory)
    assert not d.peek("ana") and not d.inner.peek("ana")
    seen: list[str] = []
    d.watch(seen.append)
    assert d.on_event is not None
    d.on_event("hits")
    assert seen == ["hits"]
    with pytest.raises(PolicyError, match="directory.ldap: missing"):
        make_directory(dataclasses.replace(policy, directory_kind="ldap", ldap=None))
