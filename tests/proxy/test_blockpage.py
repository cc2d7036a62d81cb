"""blockpage: escaped, headed with a CSP that allows no script, Portuguese, with the reference."""

from __future__ import annotations

import asyncio

from tests.proxy.conftest import Chain, make_flow, send
from tests.proxy.test_identify import basic


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.get_event_loop().run_until_complete(coro)


def test_hole8_block_page_has_csp_and_nosniff(chain: Chain) -> None:
    chain.login("servidor")
    f = run(send(chain, make_flow("http://www.pornhub.com/", headers={"accept": "text/html"})))
    h = f.response.headers
    assert "script-src" not in h["content-security-policy"]
    assert "default-src 'none'" in h["content-security-policy"]
    assert "form-action http://guarita.invalid/pedido" in h["content-security-policy"]
    assert h["x-content-type-options"] == "nosniff" and h["cache-control"] == "no-store"
    page = f.response.text
    ref = chain.rows()[-1]["ref"]
    assert ref in page and "Pedir liberação" in page and 'action="http://guarita.invalid/pedido"' in page


def test_everything_echoed_is_escaped(chain: Chain) -> None:
    chain.login("servidor")
    f = make_flow("http://www.pornhub.com/", headers={"accept": "text/html"})
    f.request.host = "www.pornhub.com"
    run(send(chain, f))
    assert "<script" not in f.response.text
    g = make_flow("http://x/", headers={"accept": "text/html"})
    g.request.data.host = "<script>alert(1)</script>"
    run(send(chain, g))
    assert g.response.status_code == 400 and "<script>" not in g.response.text


def test_text_answer_for_clients_that_do_not_ask_for_html(chain: Chain) -> None:
    chain.login("servidor")
    f = run(send(chain, make_flow("http://www.pornhub.com/")))
    assert f.response.headers["content-type"].startswith("text/plain")
    assert "regra: category.blocked" in f.response.text


def test_no_release_form_where_no_release_can_help(chain: Chain) -> None:
    f = run(send(chain, make_flow("http://www.gov.br/", ip="10.9.9.9",
                                  headers={"accept": "text/html"})))
    assert f.response.status_code == 407 and "Pedir liberação" not in f.response.text


def test_art9_par11_the_malware_page_says_a_technical_analysis_is_needed(chain: Chain) -> None:
    chain.login("servidor")
    f = run(send(chain, make_flow("http://wicar.org/", headers={"accept": "text/html"})))
    assert f.metadata["guarita.verdict"].decision.rule == "malicious"
    assert "análise técnica" in f.response.text and "Pedir liberação" in f.response.text
    g = run(send(chain, make_flow("http://www.youtube.com/", headers={"accept": "text/html"})))
    assert "análise técnica" not in g.response.text


def test_refusals_no_release_answers_say_what_to_do_instead(chain: Chain) -> None:
    nobody = run(send(chain, make_flow(headers={"accept": "text/html"})))
    page = nobody.response.text
    assert nobody.response.status_code == 407 and "Identifique-se para usar a internet" in page
    assert "usuário e a sua senha da rede" in page and "Pedir liberação" not in page
    wrong = run(send(chain, make_flow(headers={"accept": "text/html", **basic("servidor", "x")})))
    assert "Usuário ou senha incorretos" in wrong.response.text
    chain.login("servidor")
    blocked = run(send(chain, make_flow("http://www.pornhub.com/", headers={"accept": "text/html"})))
    assert "Acesso bloqueado" in blocked.response.text  # the policy's own help, with the form
    assert "Pedir liberação" in blocked.response.text


def test_the_block_page_links_the_console_when_the_policy_names_it(chain: Chain) -> None:
    import dataclasses

    from addon.proxy import blockpage

    chain.login("servidor")
    f = run(send(chain, make_flow("http://www.pornhub.com/", headers={"accept": "text/html"})))
    assert "Meus pedidos" not in f.response.text  # no console address: no link
    policy = dataclasses.replace(chain.reload.runtime.policy,
                                 console_url="https://guarita.exemplo.gov.br")
    v = f.metadata["guarita.verdict"]
    page = blockpage.refusal_response(policy, v, f.request, "guarita.invalid").get_text()
    assert (f'href="https://guarita.exemplo.gov.br/meus-pedidos?ref={v.ref}"' in page
            and ">Meus pedidos</a>" in page)
