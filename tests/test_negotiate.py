"""Kerberos tokens against a real MIT KDC: who they prove, and every way they are refused."""

from __future__ import annotations

import base64
import os
import sys
import time
from pathlib import Path

import pytest

from addon.errors import PolicyError
from addon.identity.negotiate import (
    Acceptor,
    TicketRefused,
    decode_token,
    make_acceptor,
    one_line,
    principal_login,
)
from addon.settings.deployment import NegotiateSettings
from addon.settings.load import load_policy
from tests.conftest import Workspace, use_kerberos, wait_until
from tests.support import kdc as kerberos
from tests.support.kdc import Kdc

REALMS = frozenset({kerberos.REALM})


@pytest.mark.parametrize(("principal", "login"), [
    ("ana@GUARITA.TEST", "ana"), ("Ana.Souza@guarita.test", "ana.souza")])
def test_a_user_principal_of_an_accepted_realm_is_its_login(principal: str, login: str) -> None:
    assert principal_login(principal, REALMS) == login


@pytest.mark.parametrize("principal", [
    "ana@OUTRO.REINO",            # a trusted foreign realm's ana is somebody else
    "ana/admin@GUARITA.TEST",     # an admin instance is not the user
    "HTTP/proxy@GUARITA.TEST",    # nor is a service
    "ana@corp.example@GUARITA.TEST", "@GUARITA.TEST", "ana", "DOM\\ana@GUARITA.TEST"])
def test_other_principals_map_to_no_login(principal: str) -> None:
    with pytest.raises(TicketRefused):
        principal_login(principal, REALMS)


def test_tokens_that_are_not_base64_or_too_long_are_refused() -> None:
    assert decode_token(" YWJj ") == b"abc"
    for bad in ("", "not base64!", "A" * (64 * 1024 + 4)):
        with pytest.raises(TicketRefused):
            decode_token(bad)


def test_gss_messages_become_one_line() -> None:
    text = ("Major (851968): Unspecified GSS failure.  Minor code may provide more information,"
            " Minor (2529638946): Request is a replay")
    assert one_line(Exception(text)) == "Request is a replay"
    assert one_line(Exception("plain\nmessage")) == "plain message"


@pytest.fixture
def acceptor(kdc: Kdc, tmp_path: Path) -> Acceptor:
    os.environ["KRB5_CONFIG"] = kdc.env["KRB5_CONFIG"]
    settings = NegotiateSettings(keytab=kdc.keytab, realms=REALMS, principal=kerberos.SERVICE)
    return Acceptor(settings, tmp_path / "rc2")


def test_a_ticket_proves_its_user_once_and_a_replay_is_refused(kdc: Kdc, acceptor: Acceptor) -> None:
    token = base64.b64decode(kdc.token(kdc.kinit("servidor")))
    assert acceptor.accept(token) == "servidor"
    with pytest.raises(TicketRefused, match="replay"):
        acceptor.accept(token)  # the same token captured on the wire and sent again


def test_forged_and_foreign_service_tokens_are_refused(kdc: Kdc, acceptor: Acceptor) -> None:
    with pytest.raises(TicketRefused):
        acceptor.accept(os.urandom(600))
    genuine = bytearray(base64.b64decode(kdc.token(kdc.kinit("membro"))))
    genuine[-40] ^= 0xFF  # one bit of the encrypted authenticator changed
    with pytest.raises(TicketRefused):
        acceptor.accept(bytes(genuine))
    # a genuine ticket, but for another web server of the realm: it proves nothing here
    other = base64.b64decode(kdc.token(kdc.kinit("membro"), service="HTTP@outro"))
    with pytest.raises(TicketRefused):
        acceptor.accept(other)


def test_a_token_whose_ticket_has_expired_is_refused(kdc: Kdc, acceptor: Acceptor) -> None:
    env = kdc.kinit("membro", lifetime="3s")
    token = base64.b64decode(kdc.token(env))
    end = kdc.ticket_end(env)
    wait_until(lambda: time.time() > end + kerberos.SKEW + 1, timeout=30, what="the ticket to expire")
    with pytest.raises(TicketRefused, match="(?i)expired|skew"):
        acceptor.accept(token)


def test_an_unusable_keytab_is_one_clear_error(kdc: Kdc, tmp_path: Path) -> None:
    settings = NegotiateSettings(keytab=tmp_path / "missing.keytab", realms=REALMS)
    with pytest.raises(PolicyError, match="missing.keytab: No such file"):
        Acceptor(settings, tmp_path / "rc")
    shared = tmp_path / "shared.keytab"
    shared.write_bytes(kdc.keytab.read_bytes())
    shared.chmod(0o644)
    with pytest.raises(PolicyError, match="readable by every user"):
        Acceptor(NegotiateSettings(keytab=shared, realms=REALMS), tmp_path / "rc")
    shared.chmod(0o600)
    with pytest.raises(PolicyError, match="cannot use"):  # no key for this principal in it
        other = f"HTTP/outro@{kerberos.REALM}"
        Acceptor(NegotiateSettings(keytab=shared, realms=REALMS, principal=other), tmp_path / "rc")


def test_without_the_gssapi_package_the_error_says_what_to_install(
        kdc: Kdc, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gssapi", None)
    with pytest.raises(PolicyError, match=r"guarita\[kerberos\]"):
        Acceptor(NegotiateSettings(keytab=kdc.keytab, realms=REALMS), tmp_path / "rc")


def test_the_policy_names_the_keytab_beside_it_and_the_realm(ws: Workspace, kdc: Kdc) -> None:
    assert make_acceptor(load_policy(ws.config)) is None  # the shipped policy: no Kerberos
    use_kerberos(ws, kdc)
    policy = load_policy(ws.config)
    assert policy.auth.negotiate is not None
    assert policy.auth.negotiate.realms == REALMS  # from the principal
    assert isinstance(make_acceptor(policy), Acceptor)
    text = ws.config.read_text().replace(f"principal: {kerberos.SERVICE}", "principal: null")
    ws.config.write_text(text.replace(f"keytab: {kdc.keytab}", "keytab: proxy.keytab"))
    with pytest.raises(PolicyError, match="realms: required"):
        load_policy(ws.config)
    ws.config.write_text(ws.config.read_text().replace(
        "keytab: proxy.keytab", "keytab: proxy.keytab\n      realms: [guarita.test]"))
    policy = load_policy(ws.config)
    assert policy.auth.negotiate.keytab == ws.config.parent / "proxy.keytab"
    assert policy.auth.negotiate.realms == REALMS
