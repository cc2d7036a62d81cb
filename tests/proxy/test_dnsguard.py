"""dnsguard: each question decided for the machine's session, refused names answered here
(never asked upstream), every question recorded like a request."""

from __future__ import annotations

import yaml
from mitmproxy import dns
from mitmproxy.test import tflow

from addon.proxy.dnsguard import DnsGuard
from tests.proxy.conftest import Chain


def ask(chain: Chain, name: str, ip: str = "10.0.0.5") -> tuple[DnsGuard, dns.DNSFlow]:
    guard = DnsGuard(chain.reload, chain.auditlog.metrics, chain.auditlog)
    f = tflow.tdnsflow()
    f.client_conn.peername = (ip, 53000)
    assert f.request.question is not None
    f.request.questions[0].name = name
    guard.dns_request(f)
    return guard, f


def test_canaries_and_blocked_providers_get_nxdomain_and_are_recorded(chain: Chain) -> None:
    chain.login("servidor")  # level 2: doh is blocked
    for name in ("use-application-dns.net", "mask.icloud.com", "dns.google",
                 "Mozilla.Cloudflare-DNS.com."):
        _, f = ask(chain, name)
        assert f.response is not None and f.response.response_code == dns.response_codes.NXDOMAIN
    rows = chain.rows()
    assert [(r["method"], r["rule"], r["status"], r["user"]) for r in rows] == [
        ("DNS", "dns.canary", 3, "servidor"), ("DNS", "dns.canary", 3, "servidor"),
        ("DNS", "dns.refused", 3, "servidor"), ("DNS", "dns.refused", 3, "servidor")]
    assert rows[3]["host"] == "mozilla.cloudflare-dns.com" and rows[3]["path"] == "A"


def test_other_names_go_to_the_resolver_whatever_the_web_decision(chain: Chain) -> None:
    # no session: level 0 on the web, yet the machine must still resolve its domain's names
    guard, f = ask(chain, "www.facebook.com", ip="10.9.9.9")
    assert f.response is None  # mitmproxy's resolver answers
    f.response = f.request.succeed([])
    guard.dns_response(f)
    [row] = chain.rows()
    assert (row["decision"], row["rule"], row["status"], row["user"]) == (
        "allow", "dns.answered", 0, None)


def test_a_malformed_name_is_formerr_and_recorded(chain: Chain) -> None:
    _, f = ask(chain, "bad..name")
    assert f.response is not None and f.response.response_code == dns.response_codes.FORMERR
    assert chain.rows()[0]["rule"] == "request.malformed"


def test_the_policy_may_record_only_refusals(chain: Chain) -> None:
    tree = yaml.safe_load(chain.ws.config.read_text())
    tree["dns"]["record"] = "refused"
    chain.ws.config.write_text(yaml.safe_dump(tree, allow_unicode=True))
    chain.reload.tick()
    guard, f = ask(chain, "www.gov.br")
    f.response = f.request.succeed([])
    guard.dns_response(f)
    ask(chain, "use-application-dns.net")
    assert [r["rule"] for r in chain.rows()] == ["dns.canary"]
    assert chain.metric("guarita_dns_questions_total", {"rule": "dns.answered"}) == 1
    assert chain.metric("guarita_dns_questions_total", {"rule": "dns.canary"}) == 1


def test_safesearch_answers_the_engines_names_at_the_levels_the_policy_lists(
        chain: Chain) -> None:
    import ipaddress

    tree = yaml.safe_load(chain.ws.config.read_text())
    tree["dns"]["safesearch"] = [1, 2]
    chain.ws.config.write_text(yaml.safe_dump(tree, allow_unicode=True))
    chain.reload.tick()
    chain.login("servidor")  # level 2
    guard, f = ask(chain, "WWW.Google.com.br.")
    # asked upstream as the engine's SafeSearch name ...
    assert f.response is None and f.request.questions[0].name == "forcesafesearch.google.com"
    safe_ip = dns.ResourceRecord.A("forcesafesearch.google.com",
                                   ipaddress.IPv4Address("216.239.38.120"))
    f.response = f.request.succeed([safe_ip])
    guard.dns_response(f)
    # ... and answered for the client's own name, with the CNAME first
    assert [q.name for q in f.response.questions] == ["WWW.Google.com.br."]
    assert f.request.questions[0].name == "WWW.Google.com.br."
    cname, a = f.response.answers
    assert (cname.name, cname.type, cname.domain_name) == (
        "WWW.Google.com.br.", dns.types.CNAME, "forcesafesearch.google.com")
    assert a.ipv4_address == ipaddress.IPv4Address("216.239.38.120")
    # an HTTPS record would carry address hints around it: answered empty, here
    f = tflow.tdnsflow()
    f.client_conn.peername = ("10.0.0.5", 53000)
    f.request.questions[0] = dns.Question("www.youtube.com", dns.types.HTTPS, dns.classes.IN)
    guard.dns_request(f)
    assert f.response is not None and f.response.answers == []
    # level 3 (membro) searches as it likes; other names are untouched
    chain.login("membro", "10.0.0.6")
    _, f = ask(chain, "www.bing.com", ip="10.0.0.6")
    assert f.request.questions[0].name == "www.bing.com"
    _, f = ask(chain, "www.gov.br")
    assert f.request.questions[0].name == "www.gov.br"
    rules = [r["rule"] for r in chain.rows()]
    assert rules.count("dns.safesearch") == 2
