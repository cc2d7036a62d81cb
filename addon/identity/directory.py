"""The directory interface and the embedded static directory.

A directory answers which groups a login belongs to, whether a password is right, and
who a person's chief is. The kinds (`static.py`: the policy file's users; `ldap.py`
behind `cache.py`) are chosen by `registry.py`; nothing else asks which kind it has.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from addon.errors import GuaritaError


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

    def password_stamp(self, login: str) -> str | None:
        """Something that changes when the login's password does (None: not known), asked
        at a console sign-in and at each recheck; raises UnknownUser or
        DirectoryUnavailable."""
        ...

    def peek(self, login: str) -> bool:
        """True when `lookup(login)` would answer from memory: the proxy may ask on its
        event loop instead of a thread."""
        ...

    def watch(self, event: Callable[[str], None]) -> None:
        """Have `event(kind)` called for each lookup (asked, cached, stale, unavailable):
        the metrics."""
        ...


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
