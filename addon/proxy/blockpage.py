"""The answer to a refused request: what was blocked, for whom, why, the reference, what to do.

Everything echoed is HTML-escaped (the host, the user and even the reason come
from outside), and the page is sent with a Content-Security-Policy that allows
no script, no remote resource and no form target but the proxy's own portal, so
nothing an attacker gets into a host name can run. Clients that do not ask for
HTML get a short text body.
"""

from __future__ import annotations

import datetime as dt
import html
from importlib.resources import files
from string import Template
from urllib.parse import quote

from mitmproxy import http

from addon.policy.model import Decision, Policy
from addon.policy.text import safe_text
from addon.proxy.verdict import Verdict

_TEMPLATE = Template(files("addon.proxy").joinpath("templates/block.html").read_text("utf-8"))
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


def _form(host: str, ref: str, user: str | None, is_platform: bool, action: str,
          malicious: bool = False, token: str | None = None) -> str:
    if not user or not token:
        return ""
    e = html.escape
    analysis = (
        "<p>Sites maliciosos só são liberados depois de uma análise técnica da TI "
        "(Art. 9 §11). Explique por que precisa do acesso: o pedido segue para essa análise "
        "e só é aprovado com ela.</p>" if malicious else "")
    event = (
        '<label>Data do evento <input type="date" name="date" required></label>'
        '<label>Início <input type="time" name="start" required></label>'
        '<label>Fim <input type="time" name="end" required></label>'
        "<small>Pedidos de webconferência exigem 5 dias úteis de antecedência.</small>"
        if is_platform else
        '<label>Duração desejada (dias, até 7) '
        '<input type="number" name="days" min="1" max="7" value="1"></label>'
    )
    return (
        f'<div class="card"><h2>Pedir liberação</h2>{analysis}'
        f'<form method="post" action="{e(action)}">'
        f'<input type="hidden" name="host" value="{e(host)}">'
        f'<input type="hidden" name="ref" value="{e(ref)}">'
        f'<input type="hidden" name="token" value="{e(token)}">'
        '<label>Justificativa (necessidade de serviço)'
        '<textarea name="reason" rows="3" required></textarea></label>'
        f"{event}<button type=\"submit\">Enviar pedido</button></form></div>"
    )


def _justify(policy: Policy, d: Decision, host: str, ref: str, user: str | None,
             action: str, token: str | None) -> str:
    """Art. 10 §1: the site opens now, to this person, on their word that work needs it
    (`token`: addon/proxy/formtoken.py, so no other page can post it for them)."""
    if not user or not d.justifiable or not token:
        return ""
    e = html.escape
    n = policy.justify_min_length
    return (
        '<div class="card"><h2>Preciso deste site para o serviço</h2>'
        f"<p>Esta categoria é proibida exceto em objeto de serviço (Art. 10 §1). Se o seu "
        f"trabalho precisa deste site, diga para quê: ele abre só para você, por "
        f"{policy.justify_minutes} minutos (até {policy.justify_per_day} vezes por dia). A "
        "justificativa fica registrada e a sua chefia a vê.</p>"
        f'<form method="post" action="{e(action)}">'
        f'<input type="hidden" name="host" value="{e(host)}">'
        f'<input type="hidden" name="ref" value="{e(ref)}">'
        f'<input type="hidden" name="token" value="{e(token)}">'
        f'<label>Justificativa (pelo menos {n} caracteres)'
        f'<textarea name="justificativa" rows="3" minlength="{n}" maxlength="2000" required>'
        "</textarea></label>"
        '<button type="submit">Abrir para o serviço</button></form></div>')


def _previous(denial: tuple[int, str] | None) -> str:
    if denial is None:
        return ""
    rid, note = denial
    e = html.escape
    return ('<div class="card"><h2>Pedido anterior</h2>'
            f"<p>Seu pedido nº {rid} de liberação deste site foi <strong>negado</strong>"
            f"{': ' + e(note) if note else '.'}</p>"
            "<p><small>Você pode recorrer da decisão uma vez (Art. 9 §12): procure a TI "
            f"informando o pedido nº {rid}.</small></p></div>")


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
    e = html.escape
    cats = ", ".join(policy.label(c) for c in d.categories) or "não classificado"
    is_platform = any(policy.platform_of_category(c) for c in d.categories)
    return _TEMPLATE.substitute(
        reason=e(d.reason), host=e(host), categories=e(cats), user=e(user or "nenhum"),
        level=e(f"{d.level} ({policy.levels[d.level].name})"),
        when=e(dt.datetime.fromtimestamp(when, policy.calendar.tz).strftime("%d/%m/%Y %H:%M:%S")),
        ref=e(ref), help=e(_HELP_BY_RULE.get(d.rule, policy.help_text)),
        title=e(_TITLE_BY_RULE.get(d.rule, "Acesso bloqueado")),
        form=_form(host, ref, user, is_platform, form_action, d.rule == "malicious",
                   form_token) if form_action else "",
        previous=_previous(denial),
        justify=(_justify(policy, d, host, ref, user, justify_action, form_token)
                 if justify_action else ""),
        console=_console(policy, ref, user),
        selftest=(f'<p><a href="{e(selftest)}">Como este computador é visto pelo filtro</a> '
                  "(usuário, nível, DNS)"
                  + (f' · <a href="{e(selftest.rsplit("/", 1)[0] + PRIVACY_PATH)}">Aviso de '
                     "privacidade</a>" if policy.privacy_notice else "")
                  + "</p>") if selftest else "",
    )


def _console(policy: Policy, ref: str, user: str | None) -> str:
    """The console's "Meus pedidos", with this block's reference, when the policy names it."""
    if not policy.console_url or not user:
        return ""
    e = html.escape
    link = f"{policy.console_url}/meus-pedidos?ref={quote(ref)}"
    return (f'<p>Acompanhe os seus pedidos (ou peça pelo console) em <a href="{e(link)}">Meus '
            "pedidos</a>.</p>")


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
    """A small page of the proxy's own (the request form's answers): a paragraph, more
    paragraphs, and a link (its address, its words)."""
    e = html.escape
    paragraphs = "".join(f"<p>{e(p)}</p>" for p in (text, *more))
    anchor = f'<p><a href="{e(link[0])}">{e(link[1])}</a></p>' if link else ""
    body = (f'<!doctype html><html lang="pt-BR"><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(title)}</title><body style=\"font-family:system-ui;"
            f'max-width:40rem;margin:auto;padding:1.5rem"><h1>{e(title)}</h1>'
            f"{paragraphs}{anchor}</body></html>")
    headers = security_headers(portal_host)
    headers["content-type"] = "text/html; charset=utf-8"
    return http.Response.make(status, body.encode("utf-8"), headers)
