"""When the site fails, not the filter: upstream errors as pages in Portuguese, audited as errors.

An allowed request whose site cannot be reached (no such name, connection refused, TLS
failure, timeout) was shown mitmproxy's English "502 Bad Gateway … [Errno -2]" with
`Server: mitmproxy`, and audited as `allow` with no status, so an auditor could not tell
"served" from "site down". Here the failure is classified, recorded as decision `error`
with its own rule (`upstream.dns`, `upstream.refused`, ...) and status, and the person
sees a page saying what happened and what to do.

mitmproxy writes that answer itself, after the `error` hook, from module-level helpers
of its HTTP/1 and HTTP/2 layers; no hook can replace it. This add-on swaps those two
helpers while it is loaded (restored on `done`), which is why mitmproxy is pinned to one
major version: tests/proxy/test_upstream.py fails if their names or signatures change.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import types
from typing import Any

from mitmproxy import flow as mflow
from mitmproxy import http
from mitmproxy.proxy.layers.http import _http1, _http2

from addon.policy.model import Decision
from addon.proxy.blockpage import security_headers
from addon.proxy.reload import Reload
from addon.proxy.verdict import VERDICT, Verdict

FORBIDDEN_RULE = "destination.forbidden"  # refused by `destinations` once resolved: no failure
UPSTREAM_ERROR = "guarita.upstream_error"  # flow.metadata: the Decision recorded for the failure

# (rule, what the person reads, pattern of mitmproxy's / the OS's message); first match wins
_KINDS: tuple[tuple[str, str, re.Pattern[str]], ...] = tuple(
    (rule, text, re.compile(pattern, re.IGNORECASE)) for rule, text, pattern in (
        (FORBIDDEN_RULE, "Este destino é proibido pelo filtro: o próprio proxy ou uma rede "
                         "interna protegida.", r"guarita: destino proibido"),
        ("upstream.dns", "O endereço do site não existe ou não pôde ser encontrado (DNS).",
         r"^DNS:|name or service not known|nodename nor servname|no address associated|"
         r"temporary failure in name resolution|getaddrinfo|errno -[235]\b"),
        ("upstream.timeout", "O site demorou demais para responder.",
         r"timed? ?out|timeout"),
        ("upstream.refused", "O site recusou a conexão: o servidor dele parece fora do ar.",
         r"refused|connect call failed|errno 111\b"),
        ("upstream.unreachable", "Não há caminho de rede até o site agora.",
         r"unreachable|no route to host"),
        ("upstream.tls", "A conexão segura (TLS) com o site falhou: o certificado dele "
                         "é inválido ou a negociação não foi concluída.",
         r"tls|ssl|certificate|handshake"),
        ("upstream.closed", "O site fechou a conexão antes de responder.",
         r"disconnect|closed|reset|without sending|eof"),
    ))
_OTHER = ("upstream.failed", "O site não pôde ser alcançado.")


def classify(message: str) -> tuple[str, str]:
    """(rule, Portuguese reason) for an upstream failure message."""
    for rule, text, pattern in _KINDS:
        if pattern.search(message):
            return rule, text
    return _OTHER


def error_decision(message: str, verdict: Verdict | None) -> Decision:
    rule, text = classify(message)
    d = verdict.decision if verdict is not None else None
    return Decision("error", d.level if d else 0, d.categories if d else (), text, rule,
                    d.matched if d else None)


def render(status: int, message: str, portal_host: str, tz: dt.tzinfo | None = None,
           host: str | None = None) -> tuple[bytes, dict[str, str]]:
    """The page for an upstream failure: what happened, in words, and what to do."""
    rule, text = classify(message)
    host = host or _host_in(message)
    e = html.escape
    site = f" <strong>{e(host)}</strong>" if host else ""
    when = dt.datetime.now(tz).strftime("%d/%m/%Y %H:%M:%S")
    if rule == FORBIDDEN_RULE:
        title, color = "Acesso bloqueado", "#a4161a"
        said = f"<p>O acesso ao site{site} foi bloqueado: {e(text)}</p>"
        todo = ("<p>Se este endereço é necessário para o seu trabalho, abra um chamado na "
                "Unidade de Apoio ao Usuário.</p>")
    else:
        title, color = "Site indisponível", "#8a5a00"
        said = (f"<p>O filtro <strong>não bloqueou</strong> o acesso ao site{site}. "
                f"{e(text)}</p>")
        todo = ("<p>Tente de novo em alguns minutos e confira se o endereço está correto. Se o "
                "problema continuar só com este site, ele está fora do ar; se acontecer com "
                "todos os sites, abra um chamado na Unidade de Apoio ao Usuário.</p>")
    body = (
        '<!doctype html><html lang="pt-BR"><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title>"
        '<body style="font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d2330;margin:0">'
        '<main style="max-width:40rem;margin:0 auto;padding:1.5rem">'
        f'<h1 style="color:{color};font-size:1.5rem">{title}</h1>'
        '<div style="background:#fff;border-radius:.5rem;padding:1rem 1.25rem;'
        'box-shadow:0 1px 3px rgba(0,0,0,.1)">'
        f"{said}{todo}"
        f'<p style="color:#555;font-size:.9rem">Código {status} · {e(when)}</p>'
        "</div></main></body></html>")
    headers = {**security_headers(portal_host), "server": "guarita",
               "content-type": "text/html; charset=utf-8"}
    return body.encode("utf-8"), headers


def _host_in(message: str) -> str | None:
    m = re.search(r"(?:connect to|DNS:)\s*\(?'?([A-Za-z0-9.\-\[\]:]+?)'?(?:[:,]\s*\d+)?\)?[:\s]",
                  message)
    return m.group(1).strip("[]") if m else None


class UpstreamErrors:
    """Classifies upstream failures for the audit log and answers them with a guarita page."""

    def __init__(self, reload: Reload) -> None:
        self.reload = reload
        self.portal_host = "guarita.invalid"
        self._saved: tuple[Any, Any, Any] | None = None
        # failure message -> the site's name, from the `error` hook to the page written just
        # after it (mitmproxy's message names the pinned address, not the name)
        self._hosts: dict[str, str] = {}

    def load(self, loader: Any) -> None:
        if self._saved is None:
            self._saved = (_http1.make_error_response, _http2.format_error, _http2.version)
            _http1.make_error_response = self._http1_page
            # HTTP/2 writes `server: <version.MITMPROXY>` and the body of `format_error()`
            _http2.format_error = self._page_body
            _http2.version = types.SimpleNamespace(MITMPROXY="guarita")  # type: ignore[assignment]

    def configure(self, updated: set[str]) -> None:
        if "guarita_portal_host" in updated:
            from mitmproxy import ctx

            self.portal_host = ctx.options.guarita_portal_host

    def _render(self, status_code: int, message: str) -> tuple[bytes, dict[str, str]]:
        source = self.reload.source
        tz = source.current.policy.calendar.tz if source is not None else None
        return render(status_code, message, self.portal_host, tz, self._hosts.pop(message, None))

    def _page_body(self, status_code: int, message: str) -> bytes:
        return self._render(status_code, message)[0]

    def _http1_page(self, status_code: int, message: str = "") -> bytes:
        from mitmproxy.net.http import http1

        body, headers = self._render(status_code, message)
        resp = http.Response.make(status_code, body, {**headers, "connection": "close"})
        return http1.assemble_response(resp)

    def error(self, flow: http.HTTPFlow) -> None:
        """An allowed request that failed upstream is an `error`, not an `allow` without status."""
        v = flow.metadata.get(VERDICT)
        if (flow.response is not None or flow.error is None
                or flow.error.msg == mflow.Error.KILLED_MESSAGE
                or flow.error.msg.lower().startswith("client")  # the person left, not the site
                or not isinstance(v, Verdict) or not v.allowed):
            return
        flow.metadata[UPSTREAM_ERROR] = error_decision(flow.error.msg, v)
        if len(self._hosts) > 1000:
            self._hosts.clear()
        self._hosts[flow.error.msg] = v.host

    def done(self) -> None:
        if self._saved is not None:
            _http1.make_error_response, _http2.format_error, _http2.version = self._saved
            self._saved = None
