"""identify: proxy authentication, sessions, the brute-force brake, tunnels proven on CONNECT."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable

import pytest
import yaml
from mitmproxy.proxy.layers.http import HttpRequestHeadersHook

from addon.errors import DirectoryUnavailable
from addon.identity.directory import Contact, Entry
from addon.proxy.verdict import IDENTIFIED, VERDICT
from tests.conftest import Workspace, use_kerberos
from tests.proxy.conftest import Chain, connect, make_flow, send
from tests.support.kdc import Kdc


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.get_event_loop().run_until_complete(coro)


def basic(login: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{login}:{password}".encode()).decode()
    return {"proxy-authorization": f"Basic {token}"}


def test_session_gives_the_user_and_the_header_is_never_forwarded(chain: Chain) -> None:
    chain.login("servidor")
    f = run(send(chain, make_flow(headers=basic("membro", "membro"))))
    ident = f.metadata[IDENTIFIED].identity
    assert ident.user == "membro" and ident.source == "basic"  # credentials win
    assert "proxy-authorization" not in f.request.headers
    g = run(send(chain, make_flow()))
    assert g.metadata[IDENTIFIED].identity.user == "servidor"
    assert g.metadata[IDENTIFIED].identity.source == "session"


def test_wrong_password_is_a_407_challenge(chain: Chain) -> None:
    f = run(send(chain, make_flow(headers=basic("servidor", "nope"))))
    assert f.response.status_code == 407
    assert f.metadata[VERDICT].decision.rule == "identity.bad_credentials"
    # no Kerberos in the shipped policy: Basic is the only offer
    assert f.response.headers.get_all("proxy-authenticate") == ['Basic realm="guarita", charset="UTF-8"']
    assert chain.metric("guarita_directory_lookups_total", {"result": "bind_fail"}) == 1


def test_hole6_attacker_slows_down_only_their_own_pair_never_the_real_user(chain: Chain) -> None:
    attacker, victim = "10.6.6.6", "10.0.0.5"
    limit = chain.reload.runtime.policy.auth.max_failures
    for _ in range(limit + 3):
        run(send(chain, make_flow(ip=attacker, headers=basic("servidor", "guess"))))
    last = run(send(chain, make_flow(ip=attacker, headers=basic("servidor", "guess"))))
    assert last.metadata[VERDICT].decision.rule == "identity.throttled"
    # the attacker's pair waits without asking the directory again ...
    asked = chain.metric("guarita_directory_lookups_total", {"result": "bind_fail"})
    assert asked == limit  # after `max_failures` wrong ones, the pair waits
    # ... while the real user, at their own machine, logs in at once
    ok = run(send(chain, make_flow(ip=victim, headers=basic("servidor", "servidor"))))
    assert ok.response.status_code == 200
    # and another login from the attacker's address is not locked either
    other = run(send(chain, make_flow(ip=attacker, headers=basic("membro", "membro"))))
    assert other.response.status_code == 200


def test_hole6_a_password_verified_before_is_accepted_even_while_its_pair_waits(
        chain: Chain) -> None:
    ip = "10.0.0.7"
    run(send(chain, make_flow(ip=ip, headers=basic("servidor", "servidor"))))
    for _ in range(10):
        run(send(chain, make_flow(ip=ip, headers=basic("servidor", "wrong"))))
    again = run(send(chain, make_flow(ip=ip, headers=basic("servidor", "servidor"))))
    assert again.response.status_code == 200


def test_hole4_login_proven_on_connect_holds_inside_the_intercepted_tunnel(chain: Chain) -> None:
    c = run(connect(chain, "www.gov.br", headers=basic("servidor", "servidor"), ip="10.4.4.4"))
    assert c.metadata[VERDICT].allowed
    inner = make_flow("https://www.gov.br/x", ip="10.4.4.4")
    inner.client_conn = c.client_conn  # the same TCP connection, after TLS interception
    inner.client_conn.tls, inner.client_conn.sni = True, "www.gov.br"
    run(send(chain, inner))
    assert inner.response.status_code == 200
    assert inner.metadata[IDENTIFIED].identity.user == "servidor"
    # another connection from the same address proved nothing: it is challenged
    other = run(send(chain, make_flow("http://www.gov.br/", ip="10.4.4.4")))
    assert other.response.status_code == 407


def test_hole11_directory_group_names_match_whatever_their_case(chain: Chain) -> None:
    policy = yaml.safe_load(chain.ws.config.read_text())
    policy["directory"]["users"]["servidor"]["groups"] = ["SERVIDORES"]
    policy["directory"]["groups"]["Membros"] = policy["directory"]["groups"].pop("membros")
    chain.ws.config.write_text(yaml.safe_dump(policy, allow_unicode=True))
    chain.reload.tick()
    chain.login("servidor")
    f = run(send(chain, make_flow()))
    assert f.metadata[IDENTIFIED].identity.base_level == 2
    chain.login("membro")
    assert run(send(chain, make_flow())).metadata[IDENTIFIED].identity.base_level == 3


def test_unknown_user_in_a_session_is_refused_with_a_reason(chain: Chain) -> None:
    conn = chain.reload.source.connection()
    conn.execute("INSERT INTO sessions (ip, \"user\", since) VALUES ('10.0.0.9', 'fantasma', 0)")
    conn.commit()
    chain.reload.tick(force_state=True)  # our own commit: data_version only sees others'

    f = run(send(chain, make_flow(ip="10.0.0.9")))
    assert f.response.status_code == 403
    assert f.metadata[VERDICT].decision.rule == "identity.unknown_user"


class DownDirectory:
    def lookup(self, login: str) -> Entry:
        raise DirectoryUnavailable("ldap://dc1: timed out")

    def authenticate(self, login: str, password: str) -> bool:
        raise DirectoryUnavailable("ldap://dc1: timed out")

    def contact(self, login: str) -> Contact:
        raise DirectoryUnavailable("ldap://dc1: timed out")

    def staff(self, chief: str) -> frozenset[str]:
        raise DirectoryUnavailable("ldap://dc1: timed out")

    def password_stamp(self, login: str) -> str | None:
        raise DirectoryUnavailable("ldap://dc1: timed out")

    def peek(self, login: str) -> bool:
        return False

    def watch(self, event: Callable[[str], None]) -> None:
        return None


def test_directory_down_fails_closed_off_the_event_loop(chain: Chain) -> None:
    import dataclasses

    chain.login("servidor")
    rt = chain.reload.runtime
    chain.reload.runtime = dataclasses.replace(rt, directory=DownDirectory(), _memo={})
    f = run(send(chain, make_flow()))
    assert f.metadata[VERDICT].decision.rule == "identity.directory_unavailable"
    assert f.response.status_code == 503
    g = run(send(chain, make_flow(headers=basic("servidor", "servidor"))))
    assert g.metadata[VERDICT].decision.rule == "identity.directory_unavailable"
    assert not chain.upstream


@pytest.mark.parametrize("where", ["on the loop", "off the loop"])
def test_identify_crash_is_a_refusal(chain: Chain, monkeypatch, where: str) -> None:  # noqa: ANN001
    def boom(flow):  # noqa: ANN001, ANN202
        raise KeyError("bug")

    async def later(flow):  # noqa: ANN001, ANN202
        raise KeyError("bug")

    monkeypatch.setattr(chain.identify, "_identify", boom if where == "on the loop" else later)
    f = make_flow()
    run(chain.hook(HttpRequestHeadersHook(f)))
    assert f.metadata[IDENTIFIED].refusal.rule == "internal.error"
    assert f.response.status_code == 503
    assert chain.metric("guarita_errors_total", {"where": "identify"}) == 1


@pytest.fixture
def kerberos_ws(ws: Workspace, kdc: Kdc, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    use_kerberos(ws, kdc)
    monkeypatch.setenv("KRB5_CONFIG", kdc.env["KRB5_CONFIG"])
    return ws


def negotiate(token: str) -> dict[str, str]:
    return {"proxy-authorization": f"Negotiate {token}"}


def test_a_kerberos_ticket_identifies_the_connection_with_no_password(
        kerberos_ws: Workspace, kdc: Kdc, chain: Chain) -> None:
    f = run(send(chain, make_flow(headers=negotiate(kdc.token(kdc.kinit("servidor"))))))
    assert f.response.status_code == 200
    ident = f.metadata[IDENTIFIED].identity
    assert (ident.user, ident.source, ident.base_level) == ("servidor", "kerberos", 2)
    assert "proxy-authorization" not in f.request.headers
    # the next request on that connection carries no header (Negotiate is per connection)
    g = make_flow("http://www.gov.br/b")
    g.client_conn = f.client_conn
    assert run(send(chain, g)).metadata[IDENTIFIED].identity.user == "servidor"
    # another connection is nobody until it shows its own ticket
    h = run(send(chain, make_flow()))
    assert h.response.status_code == 407
    assert h.response.headers.get_all("proxy-authenticate") == [
        "Negotiate", 'Basic realm="guarita", charset="UTF-8"']  # Kerberos offered first
    assert chain.metric("guarita_directory_lookups_total", {"result": "ticket_ok"}) == 1
    assert [r["source"] for r in chain.rows()] == ["kerberos", "kerberos", "none"]


def test_a_forged_or_replayed_ticket_is_a_407_and_forgets_the_connection(
        kerberos_ws: Workspace, kdc: Kdc, chain: Chain) -> None:
    token = kdc.token(kdc.kinit("membro"))
    f = run(send(chain, make_flow(headers=negotiate(token))))
    assert f.metadata[IDENTIFIED].identity.user == "membro"
    replay = make_flow(headers=negotiate(token))
    replay.client_conn = f.client_conn
    run(send(chain, replay))
    assert replay.response.status_code == 407
    assert replay.metadata[VERDICT].decision.rule == "identity.bad_ticket"
    after = make_flow()
    after.client_conn = f.client_conn  # the connection's earlier proof is gone with the bad one
    assert run(send(chain, after)).response.status_code == 407
    forged = run(send(chain, make_flow(headers=negotiate(base64.b64encode(b"\x60" * 80).decode()))))
    assert forged.response.status_code == 407
    assert forged.metadata[VERDICT].decision.rule == "identity.bad_ticket"
    assert chain.metric("guarita_directory_lookups_total", {"result": "ticket_refused"}) == 2
    assert not chain.upstream[1:]  # only the first, proven request went out


def test_a_principal_the_directory_does_not_know_is_refused(
        kerberos_ws: Workspace, kdc: Kdc, chain: Chain) -> None:
    f = run(send(chain, make_flow(headers=negotiate(kdc.token(kdc.kinit("fantasma"))))))
    assert f.response.status_code == 403
    assert f.metadata[VERDICT].decision.rule == "identity.unknown_user"


def test_basic_still_works_beside_kerberos(kerberos_ws: Workspace, chain: Chain) -> None:
    f = run(send(chain, make_flow(headers=basic("membro", "membro"))))
    assert f.response.status_code == 200
    assert f.metadata[IDENTIFIED].identity.source == "basic"


def test_a_request_identified_from_memory_costs_no_coroutine(chain: Chain) -> None:
    """The hot path: a session, or a password verified before, is answered synchronously."""
    chain.login("servidor")
    f = make_flow()
    assert chain.identify.requestheaders(f) is None
    assert f.metadata[IDENTIFIED].identity.user == "servidor"
    first = make_flow(ip="10.9.9.9", headers=basic("membro", "membro"))
    pending = chain.identify.requestheaders(first)  # a password never seen: checked off the loop
    assert pending is not None
    run(pending)
    assert first.metadata[IDENTIFIED].identity.user == "membro"
    again = make_flow(ip="10.9.9.9", headers=basic("membro", "membro"))
    assert chain.identify.requestheaders(again) is None
    assert again.metadata[IDENTIFIED].identity.source == "basic"
    assert "proxy-authorization" not in again.request.headers  # never forwarded
