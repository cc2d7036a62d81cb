"""LDAP settings as the policy file gives them: plain data, no driver.

The pure core validates them; `addon.identity.ldap` connects with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PRESETS = {
    "openldap": {"user_filter": "(&(objectClass=inetOrgPerson)(uid={login}))",
                 "group_attribute": "memberOf", "nested": "memberof-walk"},
    "active_directory": {"user_filter": "(&(objectCategory=person)(sAMAccountName={login}))",
                         "group_attribute": "memberOf", "nested": "in-chain"},
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
