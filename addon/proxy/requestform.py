"""The block page's form: a blocked user asks for a release; IT and the committee decide.

The request is stored as pending (`guarita release requests`), never as a release.
"""

from __future__ import annotations

import datetime as dt
import html
from urllib.parse import parse_qs

from mitmproxy import http

from addon.errors import GuaritaError
from addon.guard import Guard
from addon.policy.hosts import normalize_host
from addon.policy.model import Identity
from addon.state import db, releases


def _page(status: int, title: str, text: str) -> http.Response:
    body = (f'<!doctype html><html lang="pt-BR"><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><body style=\"font-family:system-ui;"
            f'max-width:40rem;margin:auto;padding:1.5rem"><h1>{html.escape(title)}</h1>'
            f"<p>{html.escape(text)}</p></body></html>")
    return http.Response.make(status, body.encode(), {"content-type": "text/html; charset=utf-8",
                                                      "cache-control": "no-store"})


def create_request(guard: Guard, identity: Identity, form: dict[str, str]) -> int:
    if not identity.user:
        raise GuaritaError("só um usuário identificado pode pedir liberação")
    policy = guard.policy
    host = normalize_host(form.get("host", ""))
    reason = form.get("reason", "").strip()[:2000]
    conn = db.connect(policy.paths.state_dir)
    try:
        platforms = [policy.platform_of_category(c) for c in guard.index.categories_of(host)]
        platform = next((p for p in platforms if p is not None), None)
        target = releases.Target("user", identity.user)
        if platform is not None:
            try:
                day = dt.date.fromisoformat(form.get("date", ""))
                t0 = dt.time.fromisoformat(form.get("start", ""))
                t1 = dt.time.fromisoformat(form.get("end", ""))
            except ValueError as exc:
                raise GuaritaError("informe data, início e fim do evento") from exc
            return releases.request_event(conn, policy, target, platform.name, day, t0, t1,
                                          reason, identity.user)
        try:
            days = float(form.get("days", "1"))
        except ValueError:
            days = 1.0
        return releases.request_access(conn, policy, identity.user, domain=host, category=None,
                                       days=days, reason=reason)
    finally:
        conn.close()


def handle_form(guard: Guard, identity: Identity, request: http.Request) -> http.Response:
    raw = parse_qs((request.raw_content or b"")[:16384].decode("utf-8", "replace"))
    form = {k: v[0] for k, v in raw.items() if v}
    try:
        rid = create_request(guard, identity, form)
    except GuaritaError as exc:
        return _page(400, "Pedido não registrado", str(exc))
    return _page(200, "Pedido registrado",
                 f"Seu pedido #{rid} foi registrado e será analisado pela TI. Ele não é uma "
                 "liberação: o acesso só é liberado após a aprovação.")
