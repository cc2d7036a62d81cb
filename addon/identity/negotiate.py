"""Kerberos proxy authentication (`Proxy-Authorization: Negotiate`): a ticket, not a password.

A domain-joined browser answers the 407's `Negotiate` offer with a SPNEGO token
holding a Kerberos service ticket for `HTTP/proxy.fqdn`; MIT's GSS-API library (through
the maintained `gssapi` binding, never a parser of ours) decrypts it with the proxy's
keytab, checks its time and records it in a replay cache, so a captured token cannot be
presented twice. The keytab is re-read at every token: a rotated key (a new kvno after
the service account's password changes) is used without a restart.

Only single-round Kerberos is accepted; NTLM wrapped in SPNEGO (a machine outside the
domain) is refused, and the browser falls back to the `Basic` offer beside it.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
import threading
from pathlib import Path
from typing import Any

from addon.errors import GuaritaError, PolicyError
from addon.policy.model import Policy
from addon.settings.deployment import NegotiateSettings

MAX_TOKEN = 64 * 1024  # AD tickets with many groups (PAC) reach ~12 KB; this is far above


class TicketRefused(GuaritaError):
    """A Negotiate token that does not prove who sent it (forged, expired, replayed, foreign)."""


def principal_login(principal: str, realms: frozenset[str]) -> str:
    """`ana@EXEMPLO.GOV.BR` -> `ana`, only for a user principal of an accepted realm.

    A service or admin instance (`ana/admin@...`), an enterprise name and a foreign
    realm are refused: they are not the directory's `ana`.
    """
    name, at, realm = principal.rpartition("@")
    if not at or realm.upper() not in realms:
        raise TicketRefused(f"principal {principal!r} is not of an accepted realm")
    if not name or "/" in name or "@" in name or "\\" in name:
        raise TicketRefused(f"principal {principal!r} is not a user")
    return name.strip().lower()


def decode_token(header_value: str) -> bytes:
    """The token of `Negotiate <base64>`; TicketRefused when it is not base64 or too long."""
    token = header_value.strip()
    if not token or len(token) > MAX_TOKEN:
        raise TicketRefused("empty or oversized Negotiate token")
    try:
        return base64.b64decode(token, validate=True)
    except binascii.Error as exc:
        raise TicketRefused("Negotiate token is not base64") from exc


class Acceptor:
    """Checks Negotiate tokens with the proxy's keytab. Thread-safe; call off the event loop."""

    def __init__(self, settings: NegotiateSettings, rcache: Path) -> None:
        where = "directory.authentication.negotiate"
        try:
            import gssapi
            import gssapi.raw
        except ImportError as exc:
            raise PolicyError(f"{where}: the gssapi package is not installed "
                              "(pip install 'guarita[kerberos]'; needs libkrb5-dev)") from exc
        self.settings = settings
        self._gssapi: Any = gssapi
        keytab = settings.keytab
        try:
            mode = os.stat(keytab).st_mode
            with open(keytab, "rb"):
                pass
        except OSError as exc:
            raise PolicyError(f"{where}.keytab: {keytab}: {exc.strerror or exc}") from exc
        if mode & stat.S_IROTH:
            raise PolicyError(f"{where}.keytab: {keytab} is readable by every user of the machine "
                              f"(chmod 600): its keys let anyone impersonate the proxy")
        rcache.parent.mkdir(parents=True, exist_ok=True)
        self._store = {b"keytab": str(keytab).encode(), b"rcache": f"file2:{rcache}".encode()}
        self._name = (gssapi.Name(settings.principal, gssapi.NameType.kerberos_principal)
                      if settings.principal else None)
        self._lock = threading.Lock()
        try:
            self._credentials()  # a keytab without the principal's key fails now, not per user
        except gssapi.exceptions.GSSError as exc:
            raise PolicyError(f"{where}: cannot use {keytab}: {one_line(exc)}") from exc

    def _credentials(self) -> Any:
        g = self._gssapi
        return g.Credentials(name=self._name, usage="accept", store=self._store)

    def accept(self, token: bytes) -> str:
        """The login a complete Kerberos token proves; TicketRefused otherwise."""
        g = self._gssapi
        try:
            with self._lock:  # one acceptor at a time: the replay cache is a file
                result = g.raw.accept_sec_context(token, self._credentials())
        except g.exceptions.GSSError as exc:
            raise TicketRefused(one_line(exc)) from exc
        except (ValueError, TypeError) as exc:
            raise TicketRefused(f"malformed token: {exc}") from exc
        if result.more_steps:
            raise TicketRefused("the token needs more than one round (NTLM?): only Kerberos "
                                "is accepted")
        principal = str(g.Name(result.initiator_name))
        return principal_login(principal, self.settings.realms)


def one_line(exc: Exception) -> str:
    """GSS-API messages name the major and minor status on several lines; keep the useful part."""
    text = " ".join(str(exc).split())
    minor = text.rpartition("Minor (")[2]
    if minor != text and "): " in minor:
        return minor.partition("): ")[2] or text
    return text


def make_acceptor(policy: Policy) -> Acceptor | None:
    """The policy's acceptor, or None when it asks for no Kerberos; PolicyError if unusable."""
    settings = policy.auth.negotiate
    if settings is None:
        return None
    return Acceptor(settings, policy.paths.state_dir / "krb5.rcache2")
