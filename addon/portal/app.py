"""The block page's forms as a web app: a Flask blueprint that mitmproxy serves inside the
proxy (mitmproxy's own `asgiapp.serve`, as its onboarding add-on serves its app), on the
reserved portal name and, for the HTTPS block page, on the blocked site's own decrypted
origin.

Each request comes with what the proxy knows of it (`Asked`, in the WSGI environ): the
verdict (who asks, from which machine, never a form field), the runtime, the clock. The
views only turn form fields into calls of the service layer (`addon/service/`) and its
answers or errors into pages of the console's templates; the app runs in a worker thread,
so the database is never written on the event loop.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from flask import Blueprint, Flask, Response, request

from addon.errors import GuaritaError, ReleaseError
from addon.policy.model import Identity
from addon.portal import pages
from addon.proxy import formtoken
from addon.proxy.blockpage import FORM_PATH, JUSTIFY_PATH, PRIVACY_PATH, security_headers
from addon.proxy.enforce import MAX_FORM
from addon.proxy.verdict import Verdict
from addon.runtime import Runtime
from addon.service import inputs, justify
from addon.service import requests as service
from addon.state import db, releases
from addon.state.justifications import JustificationError, Opened

log = logging.getLogger("guarita")

# a form without its page's token: posted from elsewhere, for another person, or too late
EXPIRED = ("Esta página de bloqueio expirou ou não é sua: abra o site de novo e use o "
           "formulário da página nova.")


@dataclass
class Asked:
    """What the proxy hands the app with one request (`environ["guarita.asked"]`)."""

    verdict: Verdict
    runtime: Runtime
    portal_host: str
    clock: Callable[[], float]
    adopt: Callable[[], None]  # the state read again at once: a justification opens now
    on_error: Callable[[str], None]  # counted in the metrics
    opened: Opened | None = None  # what a justification opened, for the add-on to follow


def asked() -> Asked:
    found = request.environ["guarita.asked"]
    assert isinstance(found, Asked)
    return found


def page(status: int, title: str, text: str, more: tuple[str, ...] = (),
         link: tuple[str, str] | None = None) -> Response:
    headers = security_headers(asked().portal_host)
    headers["content-type"] = "text/html; charset=utf-8"
    return Response(pages.notice(title, (text, *more), link), status, headers)


class FormError(GuaritaError):
    """A form field the person must fix; the message is theirs to read (Portuguese)."""


def create_request(rt: Runtime, identity: Identity, form: dict[str, str]) -> int:
    """Store a pending release request from the form's fields; GuaritaError says what is wrong."""
    if not identity.user:
        raise FormError("Só um usuário identificado pode pedir liberação.")
    policy = rt.policy
    host = inputs.site(form.get("host", ""))
    conn = db.connect(policy.paths)
    try:
        platforms = [policy.platform_of_category(c) for c in rt.index.categories_of(host)]
        platform = next((p for p in platforms if p is not None), None)
        if platform is not None:
            return service.file_event(conn, policy, releases.Target("user", identity.user),
                                      platform.name, identity.user, {
                                          "data": form.get("date"), "inicio": form.get("start"),
                                          "fim": form.get("end"),
                                          "justificativa": form.get("reason"),
                                          "ref": form.get("ref")})
        return service.file_access(conn, policy, identity.user, {
            "site": form.get("host", ""), "dias": form.get("days", "1"),
            "justificativa": form.get("reason", ""), "ref": form.get("ref")}, from_form=True)
    finally:
        conn.close()


def _fields() -> dict[str, str]:
    """The form's fields, the first value of each, as URL-encoded whatever the content type
    says (a body enforce already bounded: MAX_FORM)."""
    raw = parse_qs(request.get_data().decode("utf-8", "replace"), max_num_fields=16)
    return {k: vs[0] for k, vs in raw.items() if vs}


def from_its_page(a: Asked, form: dict[str, str]) -> bool:
    """Whether the form came from a block page shown to this person for its site (its
    token: addon/proxy/formtoken.py); a site name that is no name is refused later,
    naming the field."""
    identity = a.verdict.identity
    assert identity is not None and identity.user
    try:
        host = inputs.site(form.get("host", ""))
    except inputs.InvalidInput:
        return True
    key = formtoken.key_for(a.runtime.policy.paths.state_dir)
    return formtoken.valid(key, form.get("token", ""), identity.user, host, a.clock())


portal = Blueprint("portal", __name__)


@portal.post(FORM_PATH)
def file_request() -> Response:
    a = asked()
    identity = a.verdict.identity
    if identity is None or not identity.user:
        return page(403, "Identifique-se", "Só um usuário identificado pode pedir liberação.")
    form = _fields()
    if not from_its_page(a, form):
        return page(400, "Pedido não registrado", EXPIRED)
    try:
        rid = create_request(a.runtime, identity, form)
    except inputs.InvalidInput as exc:
        return page(400, "Pedido não registrado", exc.for_user)
    except ReleaseError as exc:
        return page(400, "Pedido não registrado", exc.for_user or (
            "O pedido não pôde ser registrado: confira os dados e tente de novo, ou procure "
            "a TI."))
    except GuaritaError as exc:  # our own Portuguese messages, or a bad site name
        return page(400, "Pedido não registrado", str(exc) if isinstance(exc, FormError) else (
            "O endereço do site neste pedido é inválido: volte à página de bloqueio e tente "
            "de novo."))
    ref = inputs.block_page_ref(form.get("ref"))
    policy = a.runtime.policy
    console = policy.console_url
    told = ("Você recebe a decisão por e-mail quando ela sair" if policy.notify.enabled
            else "A TI informa a decisão" if not console
            else "A decisão aparece em Meus pedidos")
    return page(
        200, "Pedido registrado",
        f"Seu pedido nº {rid} foi registrado e será analisado pela TI e pelo Comitê. Ele não "
        "é uma liberação: o acesso só é liberado após a aprovação.",
        more=((f"Referência do bloqueio: {ref}." if ref else "Guarde o número do pedido."),
              f"{told}; um pedido negado pode ter um recurso, uma vez (Art. 9 §12)."),
        link=(f"{console}/meus-pedidos", "Acompanhar em Meus pedidos") if console else None)


@portal.post(JUSTIFY_PATH)
def justify_access() -> Response:
    """Art. 10 §1: the person's justification opens the site now (the engine re-decides
    that it may), and the answer links it."""
    a = asked()
    identity = a.verdict.identity
    if identity is None or not identity.user:
        return page(403, "Identifique-se", "Só um usuário identificado pode justificar um "
                    "acesso.")
    form = _fields()
    try:
        host = inputs.site(form.get("host", ""))
        if not from_its_page(a, form):
            raise JustificationError("the justification form's token is missing, another's "
                                     "or older than an hour", EXPIRED)
        conn = db.connect(a.runtime.policy.paths)
        try:
            opened = justify.open_site(conn, a.runtime, identity, host,
                                       form.get("justificativa", ""), a.verdict.client_ip,
                                       form.get("ref"), a.clock())
        finally:
            conn.close()
    except (inputs.InvalidInput, JustificationError) as exc:
        return page(400, "Acesso não aberto", exc.for_user or str(exc))
    a.adopt()  # the link on the answer already opens the site
    a.opened = opened
    until = dt.datetime.fromtimestamp(opened.end, a.runtime.policy.calendar.tz).strftime("%H:%M")
    scheme = "https" if request.scheme.lower() == "https" else "http"  # mitmproxy: "HTTPS"
    return page(
        200, "Acesso aberto para o serviço",
        f"{opened.domain} está aberto para você até {until} (justificativa nº {opened.id}).",
        more=("A justificativa e os acessos deste período ficam registrados, e a sua chefia "
              "os vê; usar o acesso fora do serviço pode ser contado como violação (Art. 19).",),
        link=(f"{scheme}://{opened.host}/", f"Ir para {opened.domain}"))


@portal.get(PRIVACY_PATH)
def privacy() -> Response:
    notice = asked().runtime.policy.privacy_notice
    if not notice:
        return not_found(None)
    paragraphs = [" ".join(p.split()) for p in notice.split("\n\n") if p.strip()]
    return page(200, "Aviso de privacidade", paragraphs[0], tuple(paragraphs[1:]))


def not_found(_: object) -> Response:
    return page(404, "Página não encontrada", "Esta página do filtro não existe.")


def too_big(_: object) -> Response:
    return page(413, "Pedido grande demais", "A justificativa é longa demais.")


def failed(exc: Any) -> Response:
    """Any other failure: a page, never a traceback, and the form never goes upstream."""
    original = getattr(exc, "original_exception", exc)
    asked().on_error(request.path)
    log.error("guarita: the block page's form %s failed: %s", request.path, original)
    title = "Acesso não aberto" if request.path == JUSTIFY_PATH else "Pedido não registrado"
    return page(500, title, "Erro interno: tente de novo ou procure a TI.")


class PortalApp(Flask):
    def log_exception(self, exc_info: Any) -> None:
        """`failed` says it in one line: no traceback in the proxy's log."""


def make_app() -> Flask:
    app = PortalApp("addon.portal")  # its pages come from addon/portal/pages.py
    app.config["MAX_CONTENT_LENGTH"] = MAX_FORM
    app.register_blueprint(portal)
    app.register_error_handler(404, not_found)
    app.register_error_handler(405, not_found)
    app.register_error_handler(413, too_big)
    app.register_error_handler(500, failed)
    return app
