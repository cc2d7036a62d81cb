"""The embedded directory: the users of the policy file, no server needed."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from addon.errors import UnknownUser
from addon.identity.directory import Contact, Entry
from addon.identity.passwords import verify_password
from addon.policy.model import Policy


class StaticDirectory:
    """The policy's `directory.users`; every answer comes from memory."""

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

    def password_stamp(self, login: str) -> str | None:
        """A digest of the policy's hash: a new password in the file is a new stamp."""
        user = self._users.get(login.strip().lower())
        if user is None:
            raise UnknownUser(f"unknown user {login!r} (not in the directory)")
        if not user.password_hash:
            return None
        return hashlib.sha256(user.password_hash.encode()).hexdigest()[:32]

    def staff(self, chief: str) -> frozenset[str]:
        chief = chief.strip().lower()
        return frozenset(u.login for u in self._users.values() if u.chief == chief)

    def peek(self, login: str) -> bool:
        return True  # memory answers at once, whatever the login

    def watch(self, event: Callable[[str], None]) -> None:
        """Nothing to report: no lookup goes anywhere."""
