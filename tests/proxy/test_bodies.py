"""bodies: allowed bodies stream both ways and are counted; refusals and the portal never stream."""

from __future__ import annotations

import asyncio

from addon.proxy.verdict import BODY_BYTES
from tests.proxy.conftest import Chain, make_flow, send


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.get_event_loop().run_until_complete(coro)


def test_hole7_allowed_bodies_stream_and_are_counted(chain: Chain) -> None:
    chain.login("servidor")
    f = run(send(chain, make_flow("http://www.gov.br/up", "POST", body=b"x" * 1000),
                 answer=b"y" * 5000))
    assert callable(f.request.stream) and callable(f.response.stream)
    assert f.metadata[BODY_BYTES] == [1000, 5000]
    row = chain.rows()[-1]
    assert (row["bytes_in"], row["bytes_out"]) == (1000, 5000)


def test_refused_and_portal_requests_do_not_stream(chain: Chain) -> None:
    chain.login("servidor")
    blocked = run(send(chain, make_flow("http://www.pornhub.com/", "POST", body=b"x")))
    assert blocked.request.stream is False and BODY_BYTES not in blocked.metadata
    portal = run(send(chain, make_flow("http://guarita.invalid/other")))
    assert not portal.request.stream and portal.response.status_code == 404
