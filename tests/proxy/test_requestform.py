"""requestform: the form lives on the reserved host, after the decision, and files a request."""

from __future__ import annotations

import asyncio
import json

from tests.proxy.conftest import Chain, make_flow, send


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.get_event_loop().run_until_complete(coro)


FORM = "http://guarita.invalid/pedido"


def test_the_form_files_a_pending_request_and_never_goes_upstream(chain: Chain) -> None:
    chain.login("servidor")
    f = run(send(chain, make_flow(FORM, "POST", body=b"host=www.youtube.com&reason=%3Cb%3Ecurso"
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
    bad = run(send(chain, make_flow(FORM, "POST", body=b"host=zoom.us&reason=x")))
    assert bad.response.status_code == 400 and "evento" in bad.response.text
    get = run(send(chain, make_flow(FORM)))
    assert get.response.status_code == 404


def test_only_an_identified_user_may_ask(chain: Chain) -> None:
    f = run(send(chain, make_flow(FORM, "POST", ip="10.9.9.9", body=b"host=x.com&reason=y")))
    assert f.response.status_code == 407  # nobody logged in: challenged, nothing stored


def test_an_oversized_form_is_refused_unread(chain: Chain) -> None:
    chain.login("servidor")
    f = run(send(chain, make_flow(FORM, "POST", headers={"content-length": str(10 << 20)})))
    assert f.error is not None and chain.rows()[-1]["rule"] == "request.too_large"
