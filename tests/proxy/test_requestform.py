"""requestform: the form lives on the reserved host, after the decision, and files a request."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import time

import pytest
from mitmproxy.test import tflow

from addon.proxy.dnsguard import DnsGuard
from addon.proxy.verdict import VERDICT
from tests.proxy.conftest import TZ, Chain, make_flow, send
from tests.support.store import made


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.get_event_loop().run_until_complete(coro)


FORM = "http://guarita.invalid/pedido"


def form(chain: Chain, body: bytes, user: str = "servidor", **kw: object) -> object:
    """A release request posted as its block page posts it: with that page's token."""
    from urllib.parse import parse_qs

    from addon.proxy import formtoken
    from addon.service.inputs import InvalidInput, site

    raw = parse_qs(body.decode(), keep_blank_values=True).get("host", [""])[0]
    try:
        host = site(raw)
    except InvalidInput:
        host = raw
    key = formtoken.key_for(chain.reload.runtime.policy.paths.state_dir)
    mark = formtoken.issue(key, user, host, chain.requestform.clock()).encode()
    return make_flow(FORM, "POST", body=body + b"&token=" + mark, **kw)  # type: ignore[arg-type]


def test_the_form_files_a_pending_request_and_never_goes_upstream(chain: Chain) -> None:
    chain.login("servidor")
    f = run(send(chain, form(chain, b"host=www.youtube.com&reason=%3Cb%3Ecurso"
                                                     b"%3C%2Fb%3E&days=3")))
    assert f.response.status_code == 200 and "não é uma" in f.response.text
    assert "<b>" not in f.response.text and not chain.upstream
    pending = json.loads(chain.ws.run("release", "requests", "--format", "json",
                                      check=True).stdout)
    assert len(pending) == 1 and pending[0]["target"] == "user:servidor"
    assert pending[0]["object"] == "www.youtube.com" and pending[0]["status"] == "requested"
    assert chain.rows()[-1]["rule"] == "portal"


def test_form_errors_are_pages_in_portuguese(chain: Chain) -> None:
    chain.login("servidor")
    bad = run(send(chain, form(chain, b"host=zoom.us&reason=x")))
    assert bad.response.status_code == 400 and "evento" in bad.response.text
    get = run(send(chain, make_flow(FORM)))
    assert get.response.status_code == 404
    # the policy's rules in the person's words: no "seed 000", no English, no CLI options
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    late = run(send(chain, form(chain, b"host=zoom.us&reason=reuniao&date="
                                     + tomorrow.isoformat().encode() + b"&start=10:00&end=11:00")))
    assert late.response.status_code == 400
    text = late.response.text
    assert "5 dias úteis de antecedência" in text and f"{tomorrow:%d/%m/%Y}" in text
    for internal in ("seed", "business day", "--", "requested"):
        assert internal not in text
    empty = run(send(chain, form(chain, b"host=www.youtube.com&reason=+")))
    assert "Justificativa: escreva por que o seu trabalho precisa deste site" in empty.response.text
    broken = run(send(chain, form(chain, b"host=exa+mple..com&reason=x")))
    assert broken.response.status_code == 400 and "endereço do site" in broken.response.text


def test_only_an_identified_user_may_ask(chain: Chain) -> None:
    f = run(send(chain, make_flow(FORM, "POST", ip="10.9.9.9", body=b"host=x.com&reason=y")))
    assert f.response.status_code == 407  # nobody logged in: challenged, nothing stored


def test_an_oversized_form_is_refused_unread(chain: Chain) -> None:
    chain.login("servidor")
    f = run(send(chain, make_flow(FORM, "POST", headers={"content-length": str(10 << 20)})))
    assert f.error is not None and chain.rows()[-1]["rule"] == "request.too_large"


def test_a_web_conference_request_needs_the_event_and_is_filed_as_one(chain: Chain) -> None:
    chain.login("membro")
    body = b"host=zoom.us&reason=seminario&date=2026-12-15&start=10:00&end=11:00"
    f = run(send(chain, form(chain, body, "membro")))
    assert f.response.status_code == 200, f.response.text
    pending = json.loads(chain.ws.run("release", "requests", "--format", "json", check=True).stdout)
    assert pending[0]["kind"] == "event"


def test_bad_days_name_the_field_and_internal_errors_are_a_page(chain: Chain,
                                                                  monkeypatch) -> None:  # noqa: ANN001
    chain.login("servidor")
    for days, problem in ((b"abc", "Dias: deve ser um número"), (b"nan", "Dias: deve ser um número"),
                          (b"0", "Dias: deve ser maior que 0")):
        bad = run(send(chain, form(chain, b"host=www.youtube.com&reason=x&days=" + days)))
        assert bad.response.status_code == 400 and problem in bad.response.text, days
    ok = run(send(chain, form(chain, b"host=www.youtube.com&reason=x&days=2")))
    assert ok.response.status_code == 200
    import addon.portal.app as portal

    def boom(*a):  # noqa: ANN002, ANN202
        raise OSError("disk full")

    monkeypatch.setattr(portal, "create_request", boom)
    bad = run(send(chain, form(chain, b"host=www.youtube.com&reason=x")))
    assert bad.response.status_code == 500 and "Erro interno" in bad.response.text
    assert "Traceback" not in bad.response.text and not chain.upstream
    errors = chain.requestform.metrics.errors.labels("request_form")._value.get()
    assert errors >= 1


def test_guards_behind_enforce_hold_on_their_own(chain: Chain) -> None:
    """The form re-checks what enforce already guarantees: identity and size."""
    import dataclasses

    from addon.errors import GuaritaError
    from addon.policy.model import Identity
    from addon.portal.app import create_request
    from addon.proxy.verdict import VERDICT

    with pytest.raises(GuaritaError):
        create_request(chain.reload.runtime, Identity(None), {"host": "x.com"})
    chain.login("servidor")
    f = run(send(chain, form(chain, b"host=www.youtube.com&reason=x")))
    v = f.metadata[VERDICT]
    for identity, body, code in ((Identity(None), b"x", 403), (v.identity, b"x" * 20000, 413)):
        g = form(chain, body)
        g.metadata[VERDICT] = dataclasses.replace(v, identity=identity)
        run(chain.requestform.request(g))
        assert g.response.status_code == code


def test_art9_par13_a_request_can_be_followed_by_its_block_page_reference(chain: Chain) -> None:
    import re

    from addon.state import requests

    chain.login("servidor")
    page = run(send(chain, make_flow("http://www.youtube.com/", headers={"accept": "text/html"})))
    ref = re.search(r'name="ref" value="([^"]+)"', page.response.text).group(1)
    body = f"host=www.youtube.com&reason=curso&days=2&ref={ref}".encode()
    filed = run(send(chain, form(chain, body)))
    assert filed.response.status_code == 200
    found = json.loads(chain.ws.run("release", "requests", "--ref", ref, "--format", "json",
                                    check=True).stdout)
    assert [r["ref"] for r in found] == [ref] and found[0]["object"] == "www.youtube.com"
    audit = json.loads(chain.ws.run("audit", "query", "--ref", ref, "--format", "json",
                                    check=True).stdout)
    assert [(r["host"], r["decision"]) for r in audit] == [("www.youtube.com", "block")]
    # denied: the next block page says so, with the reason, escaped
    conn = made(chain.ws.var)
    requests.deny(conn, found[0]["id"], "Sem <b>necessidade</b> de serviço", "comite")
    chain.reload.tick()
    again = run(send(chain, make_flow("http://www.youtube.com/x", headers={"accept": "text/html"})))
    text = again.response.text
    assert f"pedido nº {found[0]['id']}" in text and "negado" in text
    assert "Sem &lt;b&gt;necessidade&lt;/b&gt; de serviço" in text and "<b>" not in text
    other = run(send(chain, make_flow("http://www.pornhub.com/", headers={"accept": "text/html"})))
    assert "Pedido anterior" not in other.response.text  # only for the site it was about


def test_a_reference_that_is_not_ours_is_not_stored(chain: Chain) -> None:
    chain.login("servidor")
    run(send(chain, form(chain, b"host=www.youtube.com&reason=x&ref=%3Cscript%3E")))
    found = json.loads(chain.ws.run("release", "requests", "--format", "json", check=True).stdout)
    assert found[0]["ref"] is None


def test_a_host_field_carrying_a_second_address_is_refused_not_filed(chain: Chain) -> None:
    """Issue 25: `www.pornhub.com\\r\\nBcc: intruso@evil.example` was filed for evil.example."""
    chain.login("servidor")
    for smuggled in (b"www.pornhub.com%0D%0ABcc%3A+intruso%40evil.example",
                     b"user%40www.youtube.com", b"www.youtube.com+evil.example"):
        f = run(send(chain, form(chain, b"host=" + smuggled + b"&reason=curso")))
        assert f.response.status_code == 400 and "endereço do site" in f.response.text
    pending = json.loads(chain.ws.run("release", "requests", "--format", "json",
                                      check=True).stdout)
    assert pending == []


def test_the_self_test_page_says_how_this_machine_is_seen(chain: Chain) -> None:
    chain.login("servidor")
    page = run(send(chain, make_flow("http://guarita.invalid/teste")))
    text = page.response.text
    assert page.response.status_code == 200 and not chain.upstream
    assert "servidor (sessão de logon desta máquina)" in text and "Nível de acesso: 2" in text
    assert "10.0.0.5" in text and "nenhuma pergunta deste computador" in text
    # the machine asks the DNS companion: the page says so
    guard = DnsGuard(chain.reload, chain.auditlog.metrics, chain.auditlog,
                     chain.requestform.notes)
    question = tflow.tdnsflow()
    question.client_conn.peername = ("10.0.0.5", 53000)
    guard.dns_request(question)
    again = run(send(chain, make_flow("http://guarita.invalid/teste"))).response.text
    assert "sim: a última pergunta deste computador" in again


def test_every_block_page_links_the_self_test(chain: Chain) -> None:
    chain.login("estagiario")
    f = run(send(chain, make_flow("http://www.facebook.com/", headers={"accept": "text/html"})))
    assert f.response.status_code == 403 and 'href="http://guarita.invalid/teste"' in f.response.text


def test_block_pages_link_the_privacy_notice_the_proxy_serves(chain: Chain) -> None:
    chain.login("estagiario")
    f = run(send(chain, make_flow("http://www.facebook.com/", headers={"accept": "text/html"})))
    assert 'href="http://guarita.invalid/privacidade"' in f.response.text
    notice = run(send(chain, make_flow("http://guarita.invalid/privacidade")))
    assert notice.response.status_code == 200 and not chain.upstream
    assert "Aviso de privacidade" in notice.response.text
    assert "183 dias" in notice.response.text  # the shipped policy's text, as written there


JUSTIFY = "http://guarita.invalid/justificar"
WHY = "justificativa=treinamento+do+SEI+em+v%C3%ADdeo+para+a+equipe"


def token(chain: Chain, host: str, user: str = "servidor") -> str:
    """The token a block page for `host` shown to `user` now carries."""
    from addon.proxy import formtoken

    state_dir = chain.reload.runtime.policy.paths.state_dir
    return formtoken.issue(formtoken.key_for(state_dir), user, host, chain.requestform.clock())


def test_art10_par1_the_block_page_offers_a_justification_only_where_one_may_open(
        chain: Chain) -> None:
    chain.login("servidor")
    page = run(send(chain, make_flow("http://www.youtube.com/watch",
                                     headers={"accept": "text/html"})))
    text = page.response.get_text()
    assert "Preciso deste site para o serviço" in text
    assert f'<form method="post" action="{JUSTIFY}">' in text and 'minlength="20"' in text
    assert f"form-action http://guarita.invalid/pedido {JUSTIFY}" in \
        page.response.headers["content-security-policy"]
    adult = run(send(chain, make_flow("http://www.pornhub.com/", headers={"accept": "text/html"})))
    assert "Preciso deste site" not in adult.response.get_text()


def test_art10_par1_a_justification_opens_that_site_at_once_and_ties_its_records(
        chain: Chain) -> None:
    now = time.time()  # the engine's snapshot keeps what has not ended by the real clock
    chain.at(now)  # video is blocked at level 2 at any hour
    until = dt.datetime.fromtimestamp(now + 3600, TZ).strftime("%H:%M")
    chain.login("servidor")
    blocked = run(send(chain, make_flow("http://www.youtube.com/watch",
                                        headers={"accept": "text/html"})))
    ref = blocked.metadata[VERDICT].ref
    shown = re.search(r'name="token" value="([^"]+)"', blocked.response.get_text())
    assert shown is not None  # the page's own token is what opens it
    f = run(send(chain, make_flow(JUSTIFY, "POST", body=(
        f"host=www.youtube.com&ref={ref}&token={shown.group(1)}&{WHY}").encode())))
    answer = f.response.get_text()
    assert f.response.status_code == 200 and "Acesso aberto para o serviço" in answer
    assert f"youtube.com está aberto para você até {until}" in answer
    assert 'href="http://www.youtube.com/"' in answer and not chain.upstream
    after = run(send(chain, make_flow("http://www.youtube.com/watch?v=1")))
    assert after.response.status_code == 200 and chain.upstream == ["GET www.youtube.com/watch?v=1"]
    vimeo = run(send(chain, make_flow("http://vimeo.com/")))
    assert vimeo.response.status_code == 403  # the site, not the category
    rows = chain.rows()
    [row] = [r for r in rows if r["rule"] == "justified"]
    [j] = json.loads(chain.ws.run("justify", "list", "--format", "json", check=True).stdout)
    assert row["release_id"] == j["id"] and j["user"] == "servidor" and j["ref"] == ref
    assert j["reason"] == "treinamento do SEI em vídeo para a equipe"


@pytest.mark.parametrize("host, text, token_for, status, says", [
    ("www.youtube.com", "justificativa=preciso", "www.youtube.com", 400,
     "pelo menos 20 caracteres"),
    ("www.pornhub.com", WHY, "www.pornhub.com", 400, "não pode ser aberto por justificativa"),
    ("www.gov.br", WHY, "www.gov.br", 400, "já está liberado"),
    ("exa+mple..com", WHY, "x.com", 400, "Site"),
    # a page elsewhere cannot post one for the person: no token, or another site's
    ("www.youtube.com", WHY, None, 400, "expirou ou não é sua"),
    ("www.youtube.com", WHY, "vimeo.com", 400, "expirou ou não é sua"),
])
def test_art10_par1_what_a_justification_cannot_open_is_said_in_portuguese(
        chain: Chain, host: str, text: str, token_for: str | None, status: int,
        says: str) -> None:
    chain.login("servidor")
    mark = f"&token={token(chain, token_for)}" if token_for else ""
    f = run(send(chain, make_flow(JUSTIFY, "POST", body=f"host={host}&{text}{mark}".encode())))
    assert f.response.status_code == status and says in f.response.get_text()
    assert json.loads(chain.ws.run("justify", "list", "--format", "json", check=True).stdout) == []


def test_art10_par1_a_token_is_the_persons_and_lasts_an_hour(chain: Chain) -> None:
    chain.login("servidor")
    chain.login("membro", "10.0.0.6")
    theirs = token(chain, "store.steampowered.com", "membro")
    f = run(send(chain, make_flow(JUSTIFY, "POST", body=(
        f"host=store.steampowered.com&token={theirs}&{WHY}").encode())))
    assert f.response.status_code == 400  # membro's page, servidor's machine
    old = token(chain, "www.youtube.com")
    chain.at(chain.requestform.clock() + 3601)
    f = run(send(chain, make_flow(JUSTIFY, "POST", body=(
        f"host=www.youtube.com&token={old}&{WHY}").encode())))
    assert f.response.status_code == 400 and "expirou" in f.response.get_text()


def test_art10_par1_nobody_logged_in_cannot_justify(chain: Chain) -> None:
    f = run(send(chain, make_flow(JUSTIFY, "POST", ip="10.9.9.9", body=WHY.encode())))
    assert f.response.status_code == 407


def test_a_request_form_posted_from_elsewhere_files_nothing(chain: Chain) -> None:
    """Issue 24, CSRF: a foreign page posting the form for the person (no token, another
    site's token, another person's) files no request in their name."""
    chain.login("servidor")
    body = b"host=www.youtube.com&reason=curso&days=2"
    for flow in (make_flow(FORM, "POST", body=body),
                 make_flow(FORM, "POST", body=body + b"&token=123.abc"),
                 form(chain, b"host=vimeo.com&reason=curso&days=2"),
                 form(chain, body, "membro")):
        if b"vimeo" in (flow.request.raw_content or b""):  # vimeo's token, youtube's form
            flow.request.content = flow.request.content.replace(b"vimeo.com", b"www.youtube.com")
        f = run(send(chain, flow))
        assert f.response.status_code == 400 and "expirou ou não é sua" in f.response.text
    assert json.loads(chain.ws.run("release", "requests", "--format", "json",
                                   check=True).stdout) == []
    page = run(send(chain, make_flow("http://www.youtube.com/", headers={"accept": "text/html"})))
    mark = re.search(r'name="token" value="([^"]+)"', page.response.text).group(1)
    ok = run(send(chain, make_flow(FORM, "POST", body=body + f"&token={mark}".encode())))
    assert ok.response.status_code == 200  # the page's own form, as a person sends it
