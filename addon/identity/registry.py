"""Which directory a policy names, by its `directory.kind`: one registry, no probing.

A new kind of directory is one class that satisfies `addon.identity.directory.Directory`
and one entry here; nothing else asks what kind a directory is.
"""

from __future__ import annotations

from collections.abc import Callable

from addon.errors import PolicyError
from addon.identity.cache import CachedDirectory
from addon.identity.directory import Directory
from addon.identity.static import StaticDirectory
from addon.policy.model import Policy


def _ldap(policy: Policy) -> Directory:
    from addon.identity.ldap import LdapDirectory  # ldap3 loads only where a policy uses it

    s = policy.ldap
    if s is None:
        raise PolicyError(f"{policy.source}: directory.ldap: missing (directory.kind is ldap)")
    return CachedDirectory(LdapDirectory(s), s.cache_ttl, s.negative_ttl, s.stale_age)


KINDS: dict[str, Callable[[Policy], Directory]] = {
    "static": StaticDirectory,
    "ldap": _ldap,
}


def make_directory(policy: Policy) -> Directory:
    """The directory the policy names: LDAP behind a cache, or the embedded static one."""
    return KINDS[policy.directory_kind](policy)
