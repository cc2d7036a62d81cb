"""Where one node runs, apart from what the policy allows: the storage, the directory's
connection, the mail server, the proxy's keytab and the cluster's nodes.

These sections sit in the policy file (one file to deploy), but they are not rules: the pure
core never parses them, and the loader validates them here. Secrets never appear in them:
a password or token is named by the environment variable or file that holds it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from addon.settings.base import Bool, Declared, Float, Int, refused
from addon.settings.forward import Targets

PRESETS: dict[str, dict[str, str]] = {
    "openldap": {"user_filter": "(&(objectClass=inetOrgPerson)(uid={login}))",
                 "group_attribute": "memberOf", "nested": "memberof-walk",
                 "login_attribute": "uid"},
    "active_directory": {"user_filter": "(&(objectCategory=person)(sAMAccountName={login}))",
                         "group_attribute": "memberOf", "nested": "in-chain",
                         "login_attribute": "sAMAccountName"},
}


class LdapSettings(Declared):
    """`directory.ldap`: how to reach the institution's directory (the password never here)."""

    servers: tuple[str, ...]
    bind_dn: str
    user_base: str
    preset: Literal["openldap", "active_directory"] = "openldap"
    user_filter: str = ""
    group_attribute: str = "memberOf"
    nested: Literal["memberof-walk", "in-chain", "none"] = "memberof-walk"
    start_tls: Bool = False
    verify_tls: Bool = True
    ca_file: str | None = None
    bind_password_env: str | None = "GUARITA_LDAP_PASSWORD"
    bind_password_file: str | None = None
    timeout: Float = 3.0
    cache_ttl: Float = 300.0
    negative_ttl: Float = 30.0
    stale_age: Float = 3600.0
    group_base: str | None = None

    _no_password = refused("bind_password", "never put the password in the policy file: use "
                                            "bind_password_env or bind_password_file")

    @model_validator(mode="before")
    @classmethod
    def _preset_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        preset = PRESETS.get(data.get("preset", "openldap"))
        if preset is None:
            return data  # the preset's own error says which presets exist
        defaults = {k: preset[k] for k in ("user_filter", "group_attribute", "nested")}
        return {**defaults, **data}

    @field_validator("servers")
    @classmethod
    def _urls(cls, servers: tuple[str, ...]) -> tuple[str, ...]:
        if not servers or not all(u.startswith(("ldap://", "ldaps://")) for u in servers):
            raise ValueError("must list ldap:// or ldaps:// URLs")
        return servers

    @field_validator("user_filter")
    @classmethod
    def _has_login(cls, value: str) -> str:
        if "{login}" not in value:
            raise ValueError("must contain {login}")
        return value


class SmtpSettings(Declared):
    """`notifications.smtp`: the institution's mail server (credentials by variable name)."""

    host: str = "localhost"
    port: Int = Field(default=25, ge=1, le=65535)
    starttls: Bool = False
    username_env: str | None = None
    password_env: str | None = None
    sender: str = "guarita <guarita@localhost>"
    timeout: Float = Field(default=10.0, alias="timeout_seconds", gt=0)


class NegotiateSettings(Declared):
    """Kerberos (SPNEGO) proxy authentication: the proxy's keytab and whose tickets count.

    Only principals of `realms` map to logins (`ana@EXEMPLO.GOV.BR` -> `ana`): a trusted
    foreign realm's `ana` is somebody else. `principal` pins the key the proxy accepts
    with (`HTTP/proxy.fqdn@REALM`); without it any key in the keytab is accepted. The
    loader resolves `keytab` against the policy file's folder.
    """

    keytab: Path
    realms: frozenset[str]
    principal: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _realm_of_principal(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("realms") is None:
            _, at, realm = str(data.get("principal") or "").rpartition("@")
            if not at or not realm:
                raise ValueError("realms: required unless principal names its realm "
                                 "(HTTP/proxy.fqdn@REALM)")
            return {**data, "realms": [realm]}
        return data

    @field_validator("keytab", mode="before")
    @classmethod
    def _keytab_is_text(cls, value: Any) -> Any:
        if not isinstance(value, str | Path) or not str(value):
            raise ValueError("must be the keytab file's path")
        return value

    @field_validator("realms")
    @classmethod
    def _upper(cls, realms: frozenset[str]) -> frozenset[str]:
        out = frozenset(r.strip().upper() for r in realms if r.strip())
        if not out:
            raise ValueError("must list at least one realm")
        return out


class StorageSettings(Declared):
    """`storage.database`: empty (or `sqlite`) for the embedded SQLite files, or the
    `postgresql://` URL every node shares. GUARITA_DATABASE_URL wins over it (the loader
    applies it), so a password stays out of the file."""

    database: str = ""

    @field_validator("database")
    @classmethod
    def _url(cls, url: str) -> str:
        url = url.strip()
        if url in ("", "sqlite"):
            return ""
        if not url.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be sqlite or a postgresql:// URL")
        return url


def _host_port(node: str) -> str:
    host, sep, port = node.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"must be host:port, got {node!r}")
    return node


class ClusterSettings(Declared):
    """`cluster`: the proxy nodes as host:port in failover order, and domains reached directly
    (`guarita pac`)."""

    nodes: tuple[Annotated[str, AfterValidator(_host_port)], ...] = ()
    direct_domains: tuple[str, ...] = ()


class NodeSettings(Declared):
    """Every deployment section of one file, each under the key it has there (`SECTIONS`)."""

    storage: StorageSettings = StorageSettings()
    cluster: ClusterSettings = ClusterSettings()
    ldap: LdapSettings | None = None
    negotiate: NegotiateSettings | None = None
    smtp: SmtpSettings = SmtpSettings()
    forward: Targets = ()


# Where each NodeSettings field lives in the file.
SECTIONS: dict[str, tuple[str, ...]] = {
    "storage": ("storage",),
    "cluster": ("cluster",),
    "ldap": ("directory", "ldap"),
    "negotiate": ("directory", "authentication", "negotiate"),
    "smtp": ("notifications", "smtp"),
    "forward": ("audit", "forward"),
}
