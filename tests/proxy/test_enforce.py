"""enforce: a Verdict for every request, refusals answered here, failing closed by construction."""

from __future__ import annotations

import asyncio

import pytest
from mitmproxy.proxy.layers.http import HttpRequestHeadersHook, HttpRequestHook

from addon.proxy.verdict import IDENTIFIED, VERDICT
from tests.proxy.conftest import EVENING, Chain, connect, make_flow, send


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.get_event_loop().run_until_complete(coro)


def test_allowed_request_reaches_upstream_and_blocked_one_does_not(chain: Chain) -> None:
    chain.login("servidor")
    ok = run(send(chain, make_flow("http://www.gov.br/a")))
    assert ok.response.status_code == 200 and ok.metadata[VERDICT].decision.rule == "level.allowed"
    blocked = run(send(chain, make_flow("http://www.pornhub.com/", headers={"accept": "text/html"})))
    assert blocked.response.status_code == 403
    assert b"Acesso bloqueado" in blocked.response.content
    assert chain.upstream == ["GET www.gov.br/a"]


def test_machine_without_session_is_challenged_with_407(chain: Chain) -> None:
    f = run(send(chain, make_flow(ip="10.9.9.9")))
    assert f.response.status_code == 407 and "proxy-authenticate" in f.response.headers
    assert f.metadata[VERDICT].decision.rule == "level0.no_user"


def test_host_header_that_disagrees_with_the_url_is_decided_too(chain: Chain) -> None:
    chain.login("servidor")
    f = run(send(chain, make_flow("http://www.gov.br/", headers={"host": "www.xvideos.com"})))
    assert f.response.status_code == 403 and f.metadata[VERDICT].decision.rule == "category.blocked"
    assert f.metadata[VERDICT].host == "www.xvideos.com"
    assert not chain.upstream


def test_two_host_headers_are_malformed(chain: Chain) -> None:
    chain.login("servidor")
    f = make_flow("http://www.gov.br/")
    f.request.headers.add("host", "www.xvideos.com")
    run(send(chain, f))
    assert f.response.status_code == 400 and f.metadata[VERDICT].decision.rule == "request.malformed"


def test_hole5_a_64k_url_is_a_414_with_a_rule_not_an_internal_error(chain: Chain) -> None:
    chain.login("servidor")
    f = run(send(chain, make_flow("http://www.gov.br/" + "a" * 65536)))
    assert f.response.status_code == 414 and f.metadata[VERDICT].decision.rule == "request.too_long"
    assert chain.metric("guarita_errors_total", {"where": "enforce"}) == 0
    assert chain.rows()[-1]["rule"] == "request.too_long"


@pytest.mark.parametrize("url", ["http://localhost:9464/metrics", "http://127.0.0.2/",
                                 "http://2130706433/", "http://[::1]/", "http://foo.localhost/",
                                 "http://169.254.169.254/latest/meta-data/"])
def test_the_proxys_own_host_and_metadata_service_are_forbidden_in_any_spelling(
        chain: Chain, url: str) -> None:
    chain.login("membro")
    f = run(send(chain, make_flow(url)))
    assert f.response.status_code == 403
    assert f.metadata[VERDICT].decision.rule == "destination.forbidden" and not chain.upstream


def test_hole3_the_request_form_path_on_a_blocked_host_is_decided_like_any_request(
        chain: Chain) -> None:
    chain.login("servidor")
    f = make_flow("http://www.pornhub.com/.guarita/request", "POST", body=b"host=x&reason=y")
    f.request.stream = True  # as mitmproxy's stream_large_bodies leaves it
    run(send(chain, f))
    assert f.response.status_code == 403 and f.request.stream is False
    assert not chain.upstream


def test_a_refused_request_with_a_large_body_is_cut_not_buffered(chain: Chain) -> None:
    chain.login("servidor")
    f = make_flow("http://www.pornhub.com/upload", "POST",
                  headers={"content-length": str(100 << 20)})
    run(send(chain, f))
    assert f.error is not None and f.response is None  # killed: nothing read, nothing sent
    row = chain.rows()[-1]
    assert (row["decision"], row["rule"], row["status"]) == ("block", "category.blocked", 403)


def test_fails_closed_without_an_identity(chain: Chain) -> None:
    """If identify never ran (or crashed), enforce refuses: no Identified, no pass."""
    chain.login("servidor")
    f = make_flow()
    chain.enforce.requestheaders(f)
    assert IDENTIFIED not in f.metadata
    assert f.response.status_code == 503 and f.metadata[VERDICT].decision.rule == "internal.error"


def test_fails_closed_when_the_decision_itself_raises(chain: Chain, monkeypatch) -> None:  # noqa: ANN001
    chain.login("servidor")

    def boom(*a, **k):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("bug in the policy core")

    monkeypatch.setattr(type(chain.reload.runtime), "decide", boom)
    f = run(send(chain, make_flow()))
    assert f.response.status_code == 503 and not chain.upstream
    assert chain.metric("guarita_errors_total", {"where": "enforce"}) == 1


def test_the_last_gate_refuses_a_request_that_has_no_verdict(chain: Chain) -> None:
    f = make_flow()
    run(chain.hook(HttpRequestHook(f)))  # as if requestheaders had been skipped
    assert f.response.status_code == 503 and f.metadata[VERDICT].decision.rule == "internal.error"


def test_time_of_day_rule_applies_per_request(chain: Chain) -> None:
    chain.login("servidor")
    f = run(send(chain, make_flow("http://www.facebook.com/")))
    assert f.metadata[VERDICT].decision.rule == "level2.business_hours"
    chain.at(EVENING)
    g = run(send(chain, make_flow("http://www.facebook.com/")))
    assert g.response.status_code == 200


def test_connect_is_decided_on_its_target_and_port(chain: Chain) -> None:
    chain.login("servidor")
    ok = run(connect(chain, "www.gov.br"))
    assert ok.response is None and ok.metadata[VERDICT].allowed
    blocked = run(connect(chain, "www.pornhub.com"))
    assert blocked.response.status_code == 403
    ssh = run(connect(chain, "www.gov.br", 22))
    assert ssh.metadata[VERDICT].decision.rule == "tunnel.port"
    assert [r["rule"] for r in chain.rows()] == ["category.blocked", "tunnel.port"]


def test_malformed_connect_target_is_a_400(chain: Chain) -> None:
    chain.login("servidor")
    f = run(connect(chain, "exa mple.com"))
    assert f.response.status_code == 400 and f.metadata[VERDICT].decision.rule == "request.malformed"


def test_sni_inside_an_intercepted_tunnel_is_one_of_the_names(chain: Chain) -> None:
    chain.login("servidor")
    f = make_flow("https://www.gov.br/")
    f.client_conn.tls, f.client_conn.sni = True, "www.xvideos.com"
    run(send(chain, f))
    assert f.response.status_code == 403 and f.metadata[VERDICT].host == "www.xvideos.com"


def test_options_are_validated(chain: Chain) -> None:
    from mitmproxy import exceptions

    with pytest.raises(exceptions.OptionsError):
        chain.tctx.options.update(guarita_tls_ports="443,abc")
    with pytest.raises(exceptions.OptionsError):
        chain.tctx.options.update(guarita_tls_ports="70000")
    with pytest.raises(exceptions.OptionsError):
        chain.tctx.options.update(guarita_portal_host="bad host")
    chain.tctx.options.update(guarita_tls_ports="443,8443")
    assert chain.enforce.tls_ports == {443, 8443}


def test_requestheaders_skips_flows_already_answered(chain: Chain) -> None:
    f = make_flow()
    f.response = f.request and __import__("mitmproxy").http.Response.make(204)
    run(chain.hook(HttpRequestHeadersHook(f)))
    assert VERDICT not in f.metadata


def test_an_http2_post_of_unknown_size_to_a_blocked_host_is_cut(chain: Chain) -> None:
    chain.login("servidor")
    f = make_flow("https://www.pornhub.com/up", "POST")
    f.request.http_version = "HTTP/2.0"
    run(send(chain, f))
    assert f.error is not None and f.response is None


def test_the_mitmdump_script_builds_the_chain() -> None:
    import runpy

    from tests.conftest import ROOT

    ns = runpy.run_path(str(ROOT / "addon" / "proxy" / "script.py"))
    assert len(ns["addons"]) == 1  # one top-level add-on: mitmproxy visits each for every event
    names = [type(a).__name__ for a in ns["addons"][0].parts]
    assert names[0] == "Reload" and names.index("Identify") < names.index("Enforce")
    assert names.index("Enforce") < names.index("AuditLog")


def test_a_malformed_request_is_recorded_with_who_sent_it(chain: Chain) -> None:
    chain.login("servidor")
    f = make_flow("http://www.gov.br/")
    f.request.headers.add("host", "www.xvideos.com")
    run(send(chain, f))
    row = chain.rows()[-1]
    assert (row["rule"], row["user"]) == ("request.malformed", "servidor")
