"""The block page's form: a blocked user asks for a release; IT and the committee decide.

The form posts to the proxy's own reserved host (`guarita_portal_host`, an
`.invalid` name), never to the blocked site, and is answered here, after
`enforce` gave it a portal Verdict: a request to any other host is decided like
any request, whatever its path. The request is stored as pending (`guarita
release requests`), never as a release. The SQLite write runs off the event loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs

from mitmproxy import ctx, http

from addon.errors import GuaritaError, ReleaseError
from addon.policy.hosts import normalize_host
from addon.policy.model import Identity
from addon.proxy import formtoken, selftest
from addon.proxy.blockpage import (
    FORM_PATH,
    JUSTIFY_PATH,
    PRIVACY_PATH,
    SELFTEST_PATH,
    simple_page,
)
from addon.proxy.enforce import MAX_FORM
from addon.proxy.metrics import Metrics
from addon.proxy.reload import Reload
from addon.proxy.verdict import VERDICT, ConnectionNotes, Verdict
from addon.runtime import Runtime
from addon.service import inputs, justify
from addon.service import requests as service
from addon.state import db, releases, requests
from addon.state.justifications import JustificationError, Opened

log = logging.getLogger("guarita")


# a form without its page's token: posted from elsewhere, for another person, or too late
EXPIRED = ("Esta página de bloqueio expirou ou não é sua: abra o site de novo e use o "
           "formulário da página nova.")


def _fields(body: bytes) -> dict[str, str]:
    """A form's fields, the first value of each (a body the proxy bounded: MAX_FORM)."""
    raw = parse_qs(body.decode("utf-8", "replace"), max_num_fields=16)
    return {k: vs[0] for k, vs in raw.items() if vs}


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
            try:
                day = dt.date.fromisoformat(form.get("date", ""))
                t0 = dt.time.fromisoformat(form.get("start", ""))
                t1 = dt.time.fromisoformat(form.get("end", ""))
            except ValueError as exc:
                raise FormError("Informe a data, o início e o fim do evento.") from exc
            reason = form.get("reason", "").strip()[:inputs.MAX_REASON]
            return requests.request_event(conn, policy, releases.Target("user", identity.user),
                                          platform.name, day, t0, t1, reason, identity.user,
                                          ref=inputs.block_page_ref(form.get("ref")))
        return service.file_access(conn, policy, identity.user, {
            "site": form.get("host", ""), "dias": form.get("days", "1"),
            "justificativa": form.get("reason", ""), "ref": form.get("ref")}, from_form=True)
    finally:
        conn.close()


class RequestForm:
    def __init__(self, reload: Reload, metrics: Metrics,
                 notes: ConnectionNotes | None = None) -> None:
        self.reload = reload
        self.metrics = metrics
        self.notes = notes or ConnectionNotes()
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="guarita-form")
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
        path = req.path.split("?", 1)[0]
        if req.method == "GET" and path == SELFTEST_PATH:
            ip = v.client_ip or ""
            flow.response = selftest.page(self.reload.runtime, v, self.notes.dns_seen.get(ip),
                                          portal)
            return
        notice = self.reload.runtime.policy.privacy_notice
        if req.method == "GET" and path == PRIVACY_PATH and notice:
            first, *more = [p.strip() for p in notice.split("\n\n") if p.strip()]
            flow.response = simple_page(200, "Aviso de privacidade", " ".join(first.split()),
                                        portal, tuple(" ".join(m.split()) for m in more))
            return
        if req.method == "POST" and path == JUSTIFY_PATH:
            await self._justify(flow, v, portal)
            return
        if req.method != "POST" or path != FORM_PATH:
            flow.response = simple_page(404, "Página não encontrada",
                                        "Esta página do filtro não existe.", portal)
            return
        if v.identity is None or not v.identity.user:
            flow.response = simple_page(403, "Identifique-se",
                                        "Só um usuário identificado pode pedir liberação.",
                                        portal)
            return
        body = req.raw_content or b""
        if len(body) > MAX_FORM:
            flow.response = simple_page(413, "Pedido grande demais",
                                        "A justificativa é longa demais.", portal)
            return
        form = _fields(body)
        if not self._from_its_page(v, form):
            flow.response = simple_page(400, "Pedido não registrado", EXPIRED, portal)
            return
        try:
            rid = await asyncio.get_running_loop().run_in_executor(
                self.pool, create_request, self.reload.runtime, v.identity, form)
        except inputs.InvalidInput as exc:
            flow.response = simple_page(400, "Pedido não registrado", exc.for_user, portal)
            return
        except ReleaseError as exc:
            flow.response = simple_page(400, "Pedido não registrado", exc.for_user or (
                "O pedido não pôde ser registrado: confira os dados e tente de novo, ou "
                "procure a TI."), portal)
            return
        except GuaritaError as exc:  # our own Portuguese messages, or a bad site name
            text = str(exc) if isinstance(exc, FormError) else (
                "O endereço do site neste pedido é inválido: volte à página de bloqueio e "
                "tente de novo.")
            flow.response = simple_page(400, "Pedido não registrado", text, portal)
            return
        except Exception as exc:  # noqa: BLE001 - the form never goes upstream
            self.metrics.errors.labels("request_form").inc()
            log.error("guarita: release-request form failed: %s", exc)
            flow.response = simple_page(500, "Pedido não registrado",
                                        "Erro interno: tente de novo ou procure a TI.", portal)
            return
        ref = inputs.block_page_ref(form.get("ref"))
        policy = self.reload.runtime.policy
        console = policy.console_url
        told = ("Você recebe a decisão por e-mail quando ela sair" if policy.notify.enabled
                else "A TI informa a decisão" if not console
                else "A decisão aparece em Meus pedidos")
        flow.response = simple_page(
            200, "Pedido registrado",
            f"Seu pedido nº {rid} foi registrado e será analisado pela TI e pelo Comitê. Ele "
            "não é uma liberação: o acesso só é liberado após a aprovação.", portal,
            more=((f"Referência do bloqueio: {ref}." if ref else "Guarde o número do pedido."),
                  f"{told}; um pedido negado pode ter um recurso, uma vez (Art. 9 §12)."),
            link=(f"{console}/meus-pedidos", "Acompanhar em Meus pedidos") if console else None)

    def _from_its_page(self, v: Verdict, form: dict[str, str]) -> bool:
        """Whether the form came from a block page shown to this person for its site (its
        token: addon/proxy/formtoken.py); a site name that is no name is refused later,
        naming the field."""
        assert v.identity is not None and v.identity.user
        try:
            host = inputs.site(form.get("host", ""))
        except inputs.InvalidInput:
            return True
        key = formtoken.key_for(self.reload.runtime.policy.paths.state_dir)
        return formtoken.valid(key, form.get("token", ""), v.identity.user, host, self.clock())

    async def _justify(self, flow: http.HTTPFlow, v: Verdict, portal: str) -> None:
        """Art. 10 §1: the person's justification opens the site now (the engine re-decides
        that it may), and the answer links it."""
        if v.identity is None or not v.identity.user:
            flow.response = simple_page(403, "Identifique-se",
                                        "Só um usuário identificado pode justificar um acesso.",
                                        portal)
            return
        form = _fields(flow.request.raw_content or b"")
        try:
            opened = await asyncio.get_running_loop().run_in_executor(
                self.pool, self._open, v, form)
        except (inputs.InvalidInput, JustificationError) as exc:
            flow.response = simple_page(400, "Acesso não aberto", exc.for_user or str(exc),
                                        portal)
            return
        except Exception as exc:  # noqa: BLE001 - the form never goes upstream
            self.metrics.errors.labels("justify_form").inc()
            log.error("guarita: justification form failed: %s", exc)
            flow.response = simple_page(500, "Acesso não aberto",
                                        "Erro interno: tente de novo ou procure a TI.", portal)
            return
        page = self.notes.pages.get(flow.client_conn.id)
        if page is not None and opened.covers(page.host):
            # the HTTPS block page's tunnel of that site: no longer a page, its requests
            # are now decided one by one (and may reach the site)
            del self.notes.pages[flow.client_conn.id]
            self.notes.opened.add(flow.client_conn.id)
        policy = self.reload.runtime.policy
        until = dt.datetime.fromtimestamp(opened.end, policy.calendar.tz).strftime("%H:%M")
        scheme = "https" if flow.request.scheme == "https" else "http"
        flow.response = simple_page(
            200, "Acesso aberto para o serviço",
            f"{opened.domain} está aberto para você até {until} (justificativa nº {opened.id}).",
            portal, more=("A justificativa e os acessos deste período ficam registrados, e a "
                          "sua chefia os vê; usar o acesso fora do serviço pode ser contado "
                          "como violação (Art. 19).",),
            link=(f"{scheme}://{opened.host}/", f"Ir para {opened.domain}"))

    def _open(self, v: Verdict, form: dict[str, str]) -> Opened:
        """In the form's thread: write the justification, then adopt it at once, so the
        link on the answer already opens the site."""
        assert v.identity is not None and v.identity.user
        rt = self.reload.runtime
        host = inputs.site(form.get("host", ""))
        if not self._from_its_page(v, form):
            raise JustificationError(
                "the justification form's token is missing, another's or older than an hour",
                EXPIRED)
        conn = db.connect(rt.policy.paths)
        try:
            opened = justify.open_site(conn, rt, v.identity, host,
                                       form.get("justificativa", ""), v.client_ip,
                                       form.get("ref"), self.clock())
        finally:
            conn.close()
        self.reload.tick(force_state=True)
        return opened

    def done(self) -> None:
        self.pool.shutdown(wait=False)
