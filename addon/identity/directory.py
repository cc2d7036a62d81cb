"""The directory interface and the embedded static directory.

A directory answers two questions: which groups a login belongs to, and whether
a password is right. The static one reads the policy file's `directory.users`;
the LDAP one (addon.identity.ldap) answers the same two questions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from addon.errors import GuaritaError, UnknownUser
from addon.identity.passwords import verify_password
from addon.policy.model import Policy


@dataclass(frozen=True)
class Entry:
    login: str
    groups: frozenset[str]


@dataclass(frozen=True)
class Contact:
    """Where a user is told things, and who their immediate chief is (Art. 19 I–II)."""

    login: str
    email: str | None = None
    chief: str | None = None  # the chief's login
    chief_email: str | None = None


class Directory(Protocol):
    def lookup(self, login: str) -> Entry:
        """The user's groups; raises UnknownUser or DirectoryUnavailable."""
        ...

    def authenticate(self, login: str, password: str) -> bool:
        """True when the password is right; raises DirectoryUnavailable."""
        ...

    def contact(self, login: str) -> Contact:
        """The user's e-mail and chief; raises UnknownUser or DirectoryUnavailable."""
        ...

    def staff(self, chief: str) -> frozenset[str]:
        """The logins whose immediate chief is `chief` (Art. 2, 19 II)."""
        ...


class StaticDirectory:
    """The users of the policy file: the embedded default that needs no server."""

    def __init__(self, policy: Policy) -> None:
        self._users = policy.users

    def lookup(self, login: str) -> Entry:
        user = self._users.get(login.strip().lower())
        if user is None:
            raise UnknownUser(f"unknown user {login!r} (not in the directory)")
        return Entry(user.login, user.groups)

    def authenticate(self, login: str, password: str) -> bool:
        user = self._users.get(login.strip().lower())
        return user is not None and verify_password(password, user.password_hash)

    def contact(self, login: str) -> Contact:
        user = self._users.get(login.strip().lower())
        if user is None:
            raise UnknownUser(f"unknown user {login!r} (not in the directory)")
        chief = self._users.get(user.chief) if user.chief else None
        return Contact(user.login, user.email, user.chief, chief.email if chief else None)

    def staff(self, chief: str) -> frozenset[str]:
        chief = chief.strip().lower()
        return frozenset(u.login for u in self._users.values() if u.chief == chief)


def make_directory(policy: Policy) -> Directory:
    """The directory the policy names: LDAP behind a cache, or the embedded static one."""
    if policy.ldap is None:
        return StaticDirectory(policy)
    from addon.identity.cache import CachedDirectory
    from addon.identity.ldap import LdapDirectory

    s = policy.ldap
    return CachedDirectory(LdapDirectory(s), s.cache_ttl, s.negative_ttl, s.stale_age)


def chief_of(directory: Directory) -> Callable[[str], str | None]:
    """login -> the login of their immediate chief, None when the directory names none or
    cannot be asked (a unit per chief: Art. 19 II); asked once per login."""
    seen: dict[str, str | None] = {}

    def unit(login: str) -> str | None:
        if login not in seen:
            try:
                seen[login] = directory.contact(login).chief
            except GuaritaError:
                seen[login] = None
        return seen[login]

    return unit
