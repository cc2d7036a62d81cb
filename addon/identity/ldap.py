"""LDAP directory (ldap3): groups and password checks for Active Directory and OpenLDAP.

Every value put into a filter is escaped (RFC 4515, ldap3's escape_filter_chars);
an empty password is refused before any bind (an LDAP bind with an empty
password is an anonymous bind and "succeeds"). Servers are tried in order
(failover); only when none answers is DirectoryUnavailable raised, so callers
fail closed. The service password is read from an environment variable or a
file, never from the policy file, and never logged.
"""

from __future__ import annotations

import math
import os
import ssl
from collections.abc import Callable
from pathlib import Path

from ldap3 import NONE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import parse_dn

from addon.errors import DirectoryUnavailable, PolicyError, UnknownUser
from addon.identity.directory import Contact, Entry
from addon.settings.deployment import PRESETS, LdapSettings

IN_CHAIN = "1.2.840.113556.1.4.1941"  # AD LDAP_MATCHING_RULE_IN_CHAIN
STAMPS = ("pwdChangedTime", "pwdLastSet")  # when a password changed: OpenLDAP ppolicy, AD


def bind_password(s: LdapSettings) -> str:
    """The service account's password, from its file or environment variable (never the policy)."""
    if s.bind_password_file:
        try:
            return Path(s.bind_password_file).read_text().strip()
        except OSError as exc:
            raise PolicyError(f"directory.ldap.bind_password_file: cannot read: {exc.strerror}") from exc
    if s.bind_password_env:
        value = os.environ.get(s.bind_password_env)
        if value is None:
            raise PolicyError(f"directory.ldap: environment variable {s.bind_password_env} "
                              "(the service bind password) is not set")
        return value
    raise PolicyError("directory.ldap: give bind_password_env or bind_password_file")


def _cn(dn: str) -> str:
    try:
        return str(parse_dn(dn)[0][1]).lower()
    except (LDAPException, IndexError):
        return dn.lower()


class LdapDirectory:
    def __init__(self, settings: LdapSettings) -> None:
        self.s = settings
        self._password = bind_password(settings)
        self._timeout = max(1, math.ceil(settings.timeout))  # ldap3 packs it into a C struct: int
        self._tls = None
        if settings.start_tls or any(u.startswith("ldaps://") for u in settings.servers):
            self._tls = Tls(validate=ssl.CERT_REQUIRED if settings.verify_tls else ssl.CERT_NONE,
                            ca_certs_file=settings.ca_file)

    def _server_objects(self) -> list[Server]:
        # New objects each time: ldap3 remembers a failed address as unavailable, which
        # would keep a recovered directory "down" until guarita restarts.
        return [Server(u, get_info=NONE, connect_timeout=self._timeout, tls=self._tls)
                for u in self.s.servers]

    def _bind(self, user: str, password: str) -> tuple[Connection | None, bool]:
        """(connection, credentials accepted); DirectoryUnavailable if no server answers."""
        last: Exception | None = None
        for server in self._server_objects():
            conn = Connection(server, user=user, password=password, auto_bind="NONE",
                              receive_timeout=self._timeout, raise_exceptions=False,
                              read_only=True)
            try:
                conn.open()
                if self.s.start_tls:
                    conn.start_tls()
                if conn.bind():
                    return conn, True
                if conn.result.get("result") == 49:  # invalidCredentials
                    conn.unbind()
                    return None, False
                last = LDAPException(conn.result.get("description", "bind failed"))
                conn.unbind()
            except (LDAPException, OSError) as exc:
                last = exc
        raise DirectoryUnavailable(f"no directory server answered ({type(last).__name__})")

    def _service(self) -> Connection:
        conn, ok = self._bind(self.s.bind_dn, self._password)
        if not ok or conn is None:
            raise DirectoryUnavailable("the directory refused the service account's bind")
        return conn

    def _find(self, conn: Connection, login: str) -> tuple[str, list[str]]:
        flt = (self.s.user_filter or PRESETS[self.s.preset]["user_filter"]).format(
            login=escape_filter_chars(login))
        try:
            conn.search(self.s.user_base, flt, SUBTREE, attributes=[self.s.group_attribute],
                        size_limit=2)
        except LDAPException as exc:
            raise DirectoryUnavailable(f"directory search failed ({type(exc).__name__})") from exc
        entries = [e for e in conn.response or [] if e.get("type") == "searchResEntry"]
        if len(entries) != 1:
            raise UnknownUser(f"unknown user {login!r} (not in the directory)")
        attrs = entries[0].get("attributes", {})
        groups = attrs.get(self.s.group_attribute, []) or []
        return entries[0]["dn"], [str(g) for g in groups]

    def _expand(self, conn: Connection, user_dn: str, direct: list[str]) -> set[str]:
        """Nested groups: AD asks the server (in-chain rule); OpenLDAP walks memberOf."""
        if self.s.nested == "in-chain":
            base = self.s.group_base or self.s.user_base
            conn.search(base, f"(member:{IN_CHAIN}:={escape_filter_chars(user_dn)})", SUBTREE,
                        attributes=[])
            return {e["dn"] for e in conn.response or [] if e.get("type") == "searchResEntry"}
        seen, todo = set(direct), list(direct)
        for _ in range(8):  # bounded depth: a group cycle cannot loop forever
            nxt: list[str] = []
            for dn in todo:
                conn.search(dn, "(objectClass=*)", "BASE", attributes=[self.s.group_attribute])
                for e in conn.response or []:
                    for g in e.get("attributes", {}).get(self.s.group_attribute, []) or []:
                        if str(g) not in seen:
                            seen.add(str(g))
                            nxt.append(str(g))
            if not nxt:
                break
            todo = nxt
        return seen

    def lookup(self, login: str) -> Entry:
        login = login.strip().lower()
        conn = self._service()
        try:
            dn, direct = self._find(conn, login)
            groups = self._expand(conn, dn, direct) if self.s.nested != "none" else set(direct)
        except LDAPException as exc:
            raise DirectoryUnavailable(f"directory query failed ({type(exc).__name__})") from exc
        finally:
            conn.unbind()
        return Entry(login, frozenset(_cn(g) for g in groups))

    def contact(self, login: str) -> Contact:
        """`mail`, and the `manager` DN read back for the chief's login and `mail` (Art. 19 II);
        AD and OpenLDAP's inetOrgPerson both carry these two attributes."""
        login = login.strip().lower()
        login_attr = PRESETS[self.s.preset]["login_attribute"]
        flt = (self.s.user_filter or PRESETS[self.s.preset]["user_filter"]).format(
            login=escape_filter_chars(login))
        conn = self._service()
        try:
            conn.search(self.s.user_base, flt, SUBTREE, attributes=["mail", "manager"],
                        size_limit=2)
            found = [e for e in conn.response or [] if e.get("type") == "searchResEntry"]
            if len(found) != 1:
                raise UnknownUser(f"unknown user {login!r} (not in the directory)")
            attrs = found[0].get("attributes", {})
            mail, manager = _first(attrs.get("mail")), _first(attrs.get("manager"))
            chief = chief_mail = None
            if manager:
                conn.search(manager, "(objectClass=*)", "BASE", attributes=[login_attr, "mail"])
                for e in conn.response or []:
                    if e.get("type") == "searchResEntry":
                        a = e.get("attributes", {})
                        chief = (_first(a.get(login_attr)) or "").lower() or None
                        chief_mail = _first(a.get("mail"))
        except LDAPException as exc:
            raise DirectoryUnavailable(f"directory query failed ({type(exc).__name__})") from exc
        finally:
            conn.unbind()
        return Contact(login, mail, chief, chief_mail)

    def password_stamp(self, login: str) -> str | None:
        """When the password last changed: `pwdChangedTime` (OpenLDAP's password policy) or
        `pwdLastSet` (AD); without either, the entry's `modifyTimestamp`, which a password
        change moves too (so does any other change of the entry: the person signs in again)."""
        flt = (self.s.user_filter or PRESETS[self.s.preset]["user_filter"]).format(
            login=escape_filter_chars(login.strip().lower()))
        conn = self._service()
        try:
            conn.search(self.s.user_base, flt, SUBTREE, size_limit=2,
                        attributes=[*STAMPS, "modifyTimestamp"])
            found = [e for e in conn.response or [] if e.get("type") == "searchResEntry"]
        except LDAPException as exc:
            raise DirectoryUnavailable(f"directory query failed ({type(exc).__name__})") from exc
        finally:
            conn.unbind()
        if len(found) != 1:
            raise UnknownUser(f"unknown user {login!r} (not in the directory)")
        attrs = found[0].get("attributes", {})
        for name in (*STAMPS, "modifyTimestamp"):
            value = _first(attrs.get(name))
            if value:
                return f"{name}={value}"
        return None

    def staff(self, chief: str) -> frozenset[str]:
        """Everyone whose `manager` is the chief's entry (its DN, escaped in the filter)."""
        login_attr = PRESETS[self.s.preset]["login_attribute"]
        conn = self._service()
        try:
            dn, _ = self._find(conn, chief.strip().lower())
            conn.search(self.s.user_base, f"(manager={escape_filter_chars(dn)})", SUBTREE,
                        attributes=[login_attr])
            found = [e for e in conn.response or [] if e.get("type") == "searchResEntry"]
        except LDAPException as exc:
            raise DirectoryUnavailable(f"directory query failed ({type(exc).__name__})") from exc
        finally:
            conn.unbind()
        return frozenset((_first(e.get("attributes", {}).get(login_attr)) or "").lower()
                         for e in found) - {""}

    def authenticate(self, login: str, password: str) -> bool:
        if not password or not login.strip():
            return False  # an empty password would be an anonymous bind
        conn = self._service()
        try:
            dn, _ = self._find(conn, login.strip().lower())
        except UnknownUser:
            return False
        finally:
            conn.unbind()
        user_conn, ok = self._bind(dn, password)
        if user_conn is not None:
            user_conn.unbind()
        return ok

    def peek(self, login: str) -> bool:
        return False  # every answer is a network round trip (the cache in front remembers)

    def watch(self, event: Callable[[str], None]) -> None:
        """Nothing to report here: the cache in front counts lookups."""


def _first(value: object) -> str | None:
    """ldap3 gives a list for multi-valued attributes and a str otherwise."""
    if isinstance(value, list):
        return str(value[0]) if value else None
    return str(value) if value else None
