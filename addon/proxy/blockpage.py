"""The block page: what was blocked, for whom, why, when, the audit reference, what to do.

Everything echoed is HTML-escaped (the host, the user and even the reason come
from outside). Clients that do not accept HTML get a short text body.
"""

from __future__ import annotations

import datetime as dt
import html
from importlib.resources import files
from string import Template
from zoneinfo import ZoneInfo

from addon.policy.model import Decision, Policy

_TEMPLATE = Template(files("addon.proxy").joinpath("templates/block.html").read_text("utf-8"))

FORM_URL_PATH = "/.guarita/request"


def _form(host: str, ref: str, user: str | None, is_platform: bool) -> str:
    if not user:
        return ""
    e = html.escape
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
        '<div class="card"><h2>Pedir liberação</h2>'
        f'<form method="post" action="{e(FORM_URL_PATH)}">'
        f'<input type="hidden" name="host" value="{e(host)}">'
        f'<input type="hidden" name="ref" value="{e(ref)}">'
        '<label>Justificativa (necessidade de serviço)'
        '<textarea name="reason" rows="3" required></textarea></label>'
        f"{event}<button type=\"submit\">Enviar pedido</button></form></div>"
    )


def render_html(policy: Policy, d: Decision, host: str, user: str | None, ref: str,
                when: float, tz: ZoneInfo, form: bool = True) -> str:
    e = html.escape
    cats = ", ".join(policy.label(c) for c in d.categories) or "não classificado"
    is_platform = any(policy.platform_of_category(c) for c in d.categories)
    return _TEMPLATE.substitute(
        reason=e(d.reason), host=e(host), categories=e(cats), user=e(user or "nenhum"),
        level=e(f"{d.level} ({policy.levels[d.level].name})"),
        when=e(dt.datetime.fromtimestamp(when, tz).strftime("%d/%m/%Y %H:%M:%S")),
        ref=e(ref), help=e(policy.help_text),
        form=_form(host, ref, user, is_platform) if form else "",
    )


def render_text(policy: Policy, d: Decision, host: str, user: str | None, ref: str) -> str:
    cats = ", ".join(d.categories) or "-"
    return (f"guarita: acesso bloqueado a {host}\nmotivo: {d.reason}\ncategorias: {cats}\n"
            f"usuario: {user or '-'} nivel: {d.level} regra: {d.rule}\nreferencia: {ref}\n")
