"""The answer to a refused request: what was blocked, for whom, why, the reference, what to do.

The page is the console's template `portal/bloqueio.html` (`addon/portal/pages.py`), where
Jinja escapes everything echoed (the host, the user and even the reason come from outside),
and it is sent with a Content-Security-Policy that allows
no script, no remote resource and no form target but the proxy's own portal, so
nothing an attacker gets into a host name can run. Clients that do not ask for
HTML get a short text body.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from mitmproxy import http

from addon.policy.model import Decision, Policy
from addon.policy.text import safe_text
from addon.portal import pages
from addon.proxy.verdict import Verdict

FORM_PATH = "/pedido"
JUSTIFY_PATH = "/justificar"  # Art. 10 §1: "Preciso deste site para o serviço"
SELFTEST_PATH = "/teste"  # how this machine is seen (addon/proxy/selftest.py)
PRIVACY_PATH = "/privacidade"  # the policy's audit.privacy_notice (LGPD Art. 9)


def portal_url(portal_host: str) -> str:
    return f"http://{portal_host}{FORM_PATH}"


def security_headers(portal_host: str, same_origin: bool = False) -> dict[str, str]:
    """Headers of every page the proxy itself serves; `same_origin`: the page is the HTTPS
    block page, whose form posts to its own origin (the proxy answers it in the tunnel)."""
    portal = f"{portal_url(portal_host)} http://{portal_host}{JUSTIFY_PATH}"
    targets = f"'self' {portal}" if same_origin else portal
    return {
        "content-security-policy": (
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
            f"frame-ancestors 'none'; form-action {targets}"),
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "cache-control": "no-store",
    }


# What to do, for refusals that no release request answers (the policy's help is about those)
_LOGIN = ("Entre no computador com o seu usuário da rede ou, quando o navegador pedir, informe "
          "o seu usuário e a sua senha da rede. ")
_HELP_BY_RULE = {
    "level0.no_user": _LOGIN + "Um computador sem ninguém identificado não acessa a internet "
                      "(Art. 9 §4 I).",
    "identity.bad_credentials": "Usuário ou senha incorretos: confira e tente de novo. Se "
                                "esqueceu a senha, procure a Unidade de Apoio ao Usuário.",
    "identity.throttled": "Muitas senhas erradas seguidas: espere o tempo indicado e tente de "
                          "novo com a senha correta.",
    "identity.bad_ticket": "O login automático (Kerberos) deste computador não foi aceito: "
                           "saia e entre de novo no computador, ou informe usuário e senha.",
    "identity.unknown_user": "O seu usuário não foi encontrado no diretório da rede: procure a "
                             "Unidade de Apoio ao Usuário.",
    "identity.directory_unavailable": "O filtro não consegue consultar o diretório da rede "
                                      "agora. Tente de novo em alguns minutos; se continuar, "
                                      "abra um chamado na Unidade de Apoio ao Usuário.",
    "internal.error": "O filtro não conseguiu decidir este acesso. Tente de novo em alguns "
                      "minutos; se continuar, abra um chamado informando a referência.",
}
_TITLE_BY_RULE = {"level0.no_user": "Identifique-se para usar a internet",
                  "identity.bad_credentials": "Identifique-se para usar a internet",
                  "identity.bad_ticket": "Identifique-se para usar a internet",
                  "identity.directory_unavailable": "Filtro indisponível",
                  "internal.error": "Filtro indisponível"}


def render_html(policy: Policy, d: Decision, host: str, user: str | None, ref: str,
                when: float, form_action: str | None,
                denial: tuple[int, str] | None = None, selftest: str | None = None,
                justify_action: str | None = None, form_token: str | None = None) -> str:
    cats = ", ".join(policy.label(c) for c in d.categories) or "não classificado"
    forms = bool(user and form_token)
    ask = {"acao": form_action, "malicioso": d.rule == "malicious",
           "evento": any(policy.platform_of_category(c) for c in d.categories)
           } if forms and form_action else None
    justify = {"acao": justify_action, "minutos": policy.justify_minutes,
               "por_dia": policy.justify_per_day, "minimo": policy.justify_min_length
               } if forms and justify_action and d.justifiable else None
    console = (f"{policy.console_url}/meus-pedidos?ref={quote(ref)}"
               if policy.console_url and user else None)
    privacy = (selftest.rsplit("/", 1)[0] + PRIVACY_PATH
               if selftest and policy.privacy_notice else None)
    return pages.render(
        "bloqueio.html", titulo=_TITLE_BY_RULE.get(d.rule, "Acesso bloqueado"),
        motivo=d.reason, site=host, categorias=cats, usuario=user,
        nivel=f"{d.level} ({policy.levels[d.level].name})",
        quando=dt.datetime.fromtimestamp(when, policy.calendar.tz).strftime("%d/%m/%Y %H:%M:%S"),
        ref=ref, ajuda=_HELP_BY_RULE.get(d.rule, policy.help_text), negado=denial,
        token=form_token, pedir=ask, justificar=justify, console=console,
        autoteste=selftest, privacidade=privacy)


def render_text(d: Decision, host: str, user: str | None, ref: str,
                denial: tuple[int, str] | None = None) -> str:
    cats = ", ".join(d.categories) or "-"
    previous = f"pedido anterior: no {denial[0]} negado: {denial[1]}\n" if denial else ""
    return (f"guarita: acesso bloqueado a {host}\nmotivo: {d.reason}\ncategorias: {cats}\n"
            f"usuario: {user or '-'} nivel: {d.level} regra: {d.rule}\nreferencia: {ref}\n"
            f"{previous}")


def refusal_response(policy: Policy, v: Verdict, request: http.Request,
                     portal_host: str, denial: tuple[int, str] | None = None,
                     form_token: str | None = None) -> http.Response:
    """The page (or text) that answers a refused request, with its status and headers;
    `denial` is the user's earlier denied request for this site, shown with its reason;
    `form_token` (addon/proxy/formtoken.py) lets the page offer its forms: the release
    request, and a justification where one may open the site (Art. 10 §1)."""
    user = v.identity.user if v.identity else None
    host = safe_text(v.host, 253) or "-"
    inside_tls = request.scheme == "https"  # the HTTPS block page, in its decrypted tunnel
    headers = security_headers(portal_host, same_origin=inside_tls)
    wants_html = "text/html" in request.headers.get("accept", "")
    if wants_html and request.method != "CONNECT":
        action = FORM_PATH if inside_tls else portal_url(portal_host)
        form = action if v.decision.rule not in _NO_FORM else None
        justify = JUSTIFY_PATH if inside_tls else f"http://{portal_host}{JUSTIFY_PATH}"
        body = render_html(policy, v.decision, host, user, v.ref, v.started, form, denial,
                           f"http://{portal_host}{SELFTEST_PATH}", justify, form_token)
        headers["content-type"] = "text/html; charset=utf-8"
    else:
        body = render_text(v.decision, host, user, v.ref, denial)
        headers["content-type"] = "text/plain; charset=utf-8"
    response = http.Response.make(v.status, body.encode("utf-8"), headers)
    if v.status == 407:
        # Kerberos first: a domain-joined browser signs in without a prompt; Basic after it,
        # for machines outside the domain and users without a ticket.
        if policy.auth.negotiate is not None:
            response.headers.add("proxy-authenticate", "Negotiate")
        response.headers.add("proxy-authenticate", 'Basic realm="guarita", charset="UTF-8"')
    return response


# refusals no release can lift: a form there would only mislead
_NO_FORM = frozenset({"request.malformed", "request.too_long", "destination.forbidden",
                      "tunnel.port", "tls.ech", "internal.error", "identity.bad_credentials",
                      "identity.bad_ticket",
                      "identity.throttled", "identity.unknown_user",
                      "identity.directory_unavailable", "level0.no_user"})


def simple_page(status: int, title: str, text: str, portal_host: str,
                more: tuple[str, ...] = (), link: tuple[str, str] | None = None) -> http.Response:
    """A small page of the proxy's own: a paragraph, more paragraphs, and a link (its
    address, its words)."""
    headers = security_headers(portal_host)
    headers["content-type"] = "text/html; charset=utf-8"
    return http.Response.make(status, pages.notice(title, (text, *more), link).encode("utf-8"),
                              headers)
