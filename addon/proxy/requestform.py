"""The portal: the block page's forms and pages, served inside the proxy.

The forms post to the proxy's own reserved host (`guarita_portal_host`, an `.invalid`
name), or, from the HTTPS block page, to the blocked site's own decrypted origin; either
way they are answered here, after `enforce` gave them a portal Verdict: a request to any
other host is decided like any request, whatever its path. The forms are the Flask app of
`addon/portal/app.py`, run by mitmproxy's `asgiapp.serve` (its WSGI app in a worker
thread: the database is never written on the event loop); the self-test page is built
here. A release request is stored as pending (`guarita release requests`), never as a
release.
"""

from __future__ import annotations

import time
from collections.abc import Coroutine
from typing import Any

from asgiref.wsgi import WsgiToAsgi
from mitmproxy import ctx, http
from mitmproxy.addons import asgiapp

from addon.policy.hosts import normalize_host
from addon.portal.app import Asked, make_app
from addon.proxy import selftest
from addon.proxy.blockpage import JUSTIFY_PATH, SELFTEST_PATH
from addon.proxy.metrics import Metrics
from addon.proxy.reload import Reload
from addon.proxy.verdict import VERDICT, ConnectionNotes, Verdict


class RequestForm:
    def __init__(self, reload: Reload, metrics: Metrics,
                 notes: ConnectionNotes | None = None) -> None:
        self.reload = reload
        self.metrics = metrics
        self.notes = notes or ConnectionNotes()
        self.app = make_app()
        self.clock = time.time

    def request(self, flow: http.HTTPFlow) -> Coroutine[Any, Any, None] | None:
        """Nothing for ordinary requests; for the portal, a coroutine mitmproxy awaits."""
        v = flow.metadata.get(VERDICT)
        if flow.response or not isinstance(v, Verdict) or not v.portal:
            return None
        return self._answer(flow, v)

    async def _answer(self, flow: http.HTTPFlow, v: Verdict) -> None:
        portal = normalize_host(ctx.options.guarita_portal_host)  # validated by enforce
        req = flow.request
        if req.method == "GET" and req.path.split("?", 1)[0] == SELFTEST_PATH:
            ip = v.client_ip or ""
            flow.response = selftest.page(self.reload.runtime, v, self.notes.dns_seen.get(ip),
                                          portal)
            return
        a = Asked(v, self.reload.runtime, portal, self.clock,
                  lambda: self.reload.tick(force_state=True),
                  lambda where: self.metrics.errors.labels(
                      "justify_form" if where == JUSTIFY_PATH else "request_form").inc())

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            environ["guarita.asked"] = a
            return self.app(environ, start_response)

        await asgiapp.serve(WsgiToAsgi(app), flow)
        page = self.notes.pages.get(flow.client_conn.id)
        if a.opened is not None and page is not None and a.opened.covers(page.host):
            # the HTTPS block page's tunnel of that site: no longer a page, its requests
            # are now decided one by one (and may reach the site)
            del self.notes.pages[flow.client_conn.id]
            self.notes.opened.add(flow.client_conn.id)
