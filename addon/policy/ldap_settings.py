"""LDAP settings as the policy file gives them: plain data, no driver.

The pure core validates them; `addon.identity.ldap` connects with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from addon.policy.reader import Reader

PRESETS = {
    "openldap": {"user_filter": "(&(objectClass=inetOrgPerson)(uid={login}))",
                 "group_attribute": "memberOf", "nested": "memberof-walk",
                 "login_attribute": "uid"},
    "active_directory": {"user_filter": "(&(objectCategory=person)(sAMAccountName={login}))",
                         "group_attribute": "memberOf", "nested": "in-chain",
                         "login_attribute": "sAMAccountName"},
}


@dataclass(frozen=True)
class LdapSettings:
    servers: tuple[str, ...]
    bind_dn: str
    user_base: str
    preset: str = "openldap"
    user_filter: str = ""
    group_attribute: str = "memberOf"
    nested: str = "memberof-walk"
    start_tls: bool = False
    verify_tls: bool = True
    ca_file: str | None = None
    bind_password_env: str | None = "GUARITA_LDAP_PASSWORD"
    bind_password_file: str | None = None
    timeout: float = 3.0
    cache_ttl: float = 300.0
    negative_ttl: float = 30.0
    stale_age: float = 3600.0
    group_base: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def parse_ldap(r: Reader, directory: dict[str, Any]) -> LdapSettings:
    """The policy's `directory.ldap` section, validated (the password is never in it)."""
    tree = r.get(directory, "ldap", dict, "directory")
    w = "directory.ldap"
    preset = r.get(tree, "preset", str, w, "openldap")
    if preset not in PRESETS:
        raise r.fail(f"{w}.preset", f"must be one of {', '.join(PRESETS)}")
    servers = r.get(tree, "servers", list, w)
    if not servers or not all(isinstance(u, str) and u.startswith(("ldap://", "ldaps://"))
                              for u in servers):
        raise r.fail(f"{w}.servers", "must list ldap:// or ldaps:// URLs")
    if "bind_password" in tree:
        raise r.fail(f"{w}.bind_password", "never put the password in the policy file: use "
                     "bind_password_env or bind_password_file")
    user_filter = r.get(tree, "user_filter", str, w, PRESETS[preset]["user_filter"])
    if "{login}" not in user_filter:
        raise r.fail(f"{w}.user_filter", "must contain {login}")
    return LdapSettings(
        servers=tuple(servers), bind_dn=r.get(tree, "bind_dn", str, w),
        user_base=r.get(tree, "user_base", str, w), preset=preset, user_filter=user_filter,
        group_attribute=r.get(tree, "group_attribute", str, w,
                              PRESETS[preset]["group_attribute"]),
        nested=r.get(tree, "nested", str, w, PRESETS[preset]["nested"]),
        start_tls=r.get(tree, "start_tls", bool, w, False),
        verify_tls=r.get(tree, "verify_tls", bool, w, True),
        ca_file=r.get(tree, "ca_file", str, w, None),
        bind_password_env=r.get(tree, "bind_password_env", str, w, "GUARITA_LDAP_PASSWORD"),
        bind_password_file=r.get(tree, "bind_password_file", str, w, None),
        timeout=float(r.get(tree, "timeout", (int, float), w, 3.0)),
        cache_ttl=float(r.get(tree, "cache_ttl", (int, float), w, 300)),
        negative_ttl=float(r.get(tree, "negative_ttl", (int, float), w, 30)),
        stale_age=float(r.get(tree, "stale_age", (int, float), w, 3600)),
        group_base=r.get(tree, "group_base", str, w, None),
    )
