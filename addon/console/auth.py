"""Who is signed in to the console, with which roles, and the guards every page passes.

Sign-in is the directory password (an LDAP bind, or the static directory), slowed per
(login, address) pair like proxy authentication. Roles come from directory groups named
in the policy (`console.roles`); a user with none is an end user and sees only their own
requests. Pages use an HttpOnly, SameSite=Strict cookie that only names a session kept on
the server (`addon.state.console_sessions`: signing out, a timeout, a role taken away or a
changed password ends it), and a CSRF token on every form, the sign-in form's included; the JSON API takes
HTTP Basic on each call (no cookie, so no CSRF).
"""

from __future__ import annotations

import hmac
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from addon.errors import DirectoryUnavailable, UnknownUser
from addon.identity.credentials import AuthCache, PasswordCheck, check_password
from addon.identity.directory import Directory
from addon.policy.model import Policy

ROLE_NAMES = {"ti": "TI", "comite": "Comitê", "auditoria": "Auditoria", "chefia": "Chefia"}


@dataclass(frozen=True)
class User:
    login: str
    roles: frozenset[str]
    stamp: str | None = None  # the directory's password stamp at sign-in

    def has(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))


class SignInRefused(Exception):
    """Wrong password, unknown login, or a pair that must wait; the text is for the person."""


def sign_in(policy: Policy, directory: Directory, brake: AuthCache, login: str, password: str,
            ip: str) -> User:
    login = login.strip().lower()
    try:
        checked = check_password(brake, directory.authenticate, login, password, ip)
        groups = directory.lookup(login).groups if checked.ok else frozenset()
    except UnknownUser:
        checked = PasswordCheck(False)
    except DirectoryUnavailable as exc:
        raise SignInRefused("O diretório da rede não responde: tente de novo em alguns "
                            "minutos.") from exc
    if checked.throttled:
        raise SignInRefused("Muitas senhas erradas: tente de novo em "
                            f"{max(1, round(checked.wait))} s.")
    if not checked.ok:
        raise SignInRefused("Usuário ou senha incorretos.")
    return User(login, policy.roles_of(frozenset(g.casefold() for g in groups)),
                password_stamp(directory, login))


def password_stamp(directory: Directory, login: str) -> str | None:
    """The directory's password stamp, None when it cannot say now (a changed password is
    then noticed at a later check)."""
    try:
        return directory.password_stamp(login)
    except (DirectoryUnavailable, UnknownUser):
        return None


def local_path(target: object) -> str:
    """Where to go after signing in: a path of this console, or `/`.

    Browsers drop tabs and newlines from a URL and read a backslash as a slash, so
    `/\t/evil.example` and `/\\evil.example` are other sites to them; any control
    character, backslash, scheme or host sends the person home instead."""
    if not isinstance(target, str) or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return "/"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else "/"


def new_csrf() -> str:
    return secrets.token_urlsafe(32)


def csrf_ok(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


def secret_key(state_dir: Path) -> bytes:
    """The key that signs session cookies: made once, readable by its owner only."""
    path = state_dir / "console.key"
    state_dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
    if os.stat(path).st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        os.chmod(path, 0o600)
    return path.read_bytes()
