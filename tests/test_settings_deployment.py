"""Deployment sections: presets fill the directory's defaults, secrets are never accepted in the
file, connection strings and node addresses are checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from addon.settings.deployment import (
    ClusterSettings,
    LdapSettings,
    NegotiateSettings,
    NodeSettings,
    SmtpSettings,
    StorageSettings,
)

LDAP = {"servers": ["ldaps://dc1"], "bind_dn": "cn=svc", "user_base": "ou=p"}


def test_an_active_directory_preset_fills_its_filter_and_nesting() -> None:
    ad = LdapSettings.model_validate({**LDAP, "preset": "active_directory"})
    assert "sAMAccountName={login}" in ad.user_filter and ad.nested == "in-chain"
    own = LdapSettings.model_validate({**LDAP, "user_filter": "(cn={login})", "nested": "none"})
    assert own.user_filter == "(cn={login})" and own.nested == "none" and own.preset == "openldap"


@pytest.mark.parametrize("extra, problem", [
    ({"bind_password": "segredo"}, "never put the password in the policy file"),
    ({"servers": ["http://dc1"]}, "must list ldap:// or ldaps:// URLs"),
    ({"servers": []}, "must list ldap:// or ldaps:// URLs"),
    ({"user_filter": "(uid=x)"}, "must contain {login}"),
    ({"timeout": "3"}, "valid number"),
])
def test_the_directory_connection_refuses(extra: dict, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        LdapSettings.model_validate({**LDAP, **extra})


def test_negotiate_takes_the_realm_from_the_principal_and_upper_cases_realms() -> None:
    n = NegotiateSettings.model_validate({"keytab": "k", "principal": "HTTP/p@Exemplo.Gov"})
    assert n.realms == frozenset({"EXEMPLO.GOV"}) and n.keytab == Path("k")
    assert NegotiateSettings.model_validate({"keytab": "k", "realms": [" a ", "b"]}).realms == {"A", "B"}
    for bad in ({"keytab": "k"}, {"keytab": "k", "realms": [" "]}, {"keytab": 3, "realms": ["R"]}):
        with pytest.raises(ValidationError):
            NegotiateSettings.model_validate(bad)


def test_storage_is_sqlite_or_postgresql() -> None:
    assert StorageSettings.model_validate({"database": " sqlite "}).database == ""
    url = "postgresql://g@db/g"
    assert StorageSettings.model_validate({"database": url}).database == url
    with pytest.raises(ValidationError, match="must be sqlite or a postgresql:// URL"):
        StorageSettings.model_validate({"database": "mysql://x"})


def test_cluster_nodes_are_host_and_port_and_smtp_reads_timeout_seconds() -> None:
    assert ClusterSettings.model_validate({"nodes": ["p1:3128"]}).nodes == ("p1:3128",)
    for bad in ("p1", ":3128", "p1:0", "p1:99999", "p1:x"):
        with pytest.raises(ValidationError, match="must be host:port"):
            ClusterSettings.model_validate({"nodes": [bad]})
    smtp = SmtpSettings.model_validate({"timeout_seconds": 2, "port": 587})
    assert smtp.timeout == 2.0 and smtp.port == 587 and smtp.host == "localhost"
    with pytest.raises(ValidationError):
        SmtpSettings.model_validate({"port": 70000})


def test_node_settings_default_to_the_embedded_sqlite_without_ldap() -> None:
    node = NodeSettings()
    assert node.storage.database == "" and node.ldap is None and node.negotiate is None
    with pytest.raises(ValidationError):  # frozen: a loaded setting never changes under a reader
        node.storage.database = "x"  # type: ignore[misc]
