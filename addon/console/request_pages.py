"""Console pages of the request loop: an end user's requests (filed from a block page's
reference, appealed) and the committee's and IT's decisions."""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, g, redirect, render_template, request, url_for

from addon.audit import query
from addon.console.auth import User
from addon.console.guards import REVIEWERS, categories_of, csv_download, form_error, page, release, state
from addon.errors import GuaritaError
from addon.runtime import Runtime
from addon.service import requests as service
from addon.state import releases, requests
from addon.state.history import local_time
from addon.state.requests import PENDING

PAGE = 50  # requests per page of "Todos os pedidos"


def duration(row: Any) -> str:
    """What a request asks for, in days, as the committee weighs it before deciding."""
    days = (row["end"] - row["start"]) / 86400
    shown = f"{days:.0f}" if abs(days - round(days)) < 0.05 else f"{days:.1f}".replace(".", ",")
    return f"{shown} dia{'s' if shown != '1' else ''}"


def register(app: Flask) -> None:
    @app.get("/meus-pedidos")
    @page()
    def mine() -> Any:
        user: User = g.user
        conn = state()
        rows = [r for r in releases.listing(conn) if r["requested_by"] == user.login]
        blocked = own_block(g.rt, user, request.args.get("ref", "").strip())
        return render_template("meus_pedidos.html", pedidos=list(reversed(rows)),
                               historia={r["id"]: requests.timeline(conn, r["id"]) for r in rows},
                               bloqueio=blocked, aviso=request.args.get("aviso"))

    @app.post("/meus-pedidos")
    @page()
    def file_request() -> Any:
        user: User = g.user
        form = request.form.to_dict()
        form["site"] = form.pop("host", "")
        try:
            rid = service.file_access(state(), g.rt.policy, user.login, form, from_form=True)
        except GuaritaError as exc:
            return form_error(exc)
        return redirect(url_for("mine", aviso=f"Pedido nº {rid} registrado: aguarde a análise."))

    @app.post("/meus-pedidos/<int:rid>/recurso")
    @page()
    def appeal(rid: int) -> Any:
        user: User = g.user
        conn = state()
        row = release(conn, rid)
        if row["requested_by"] != user.login:
            abort(404)  # another person's request does not exist for this user
        try:
            service.appeal(conn, g.rt.policy, rid, user.login, request.form.to_dict())
        except GuaritaError as exc:
            return form_error(exc)
        return redirect(url_for("mine", aviso=f"Recurso do pedido nº {rid} registrado."))

    # ------------------------------------------------------------- committee and IT
    @app.get("/pedidos")
    @page(*REVIEWERS)
    def pending() -> Any:
        conn = state()
        rows = releases.listing(conn, statuses=PENDING)
        active = releases.listing(conn, active_only=True)
        wanted = request.args.get("q", "").strip().casefold()
        found = [r for r in reversed(releases.listing(conn))
                 if not wanted or any(wanted in str(r[k] or "").casefold()
                                      for k in ("requested_by", "target", "obj"))]
        pages = max(1, -(-len(found) // PAGE))
        number = min(max(1, request.args.get("pagina", 1, type=int) or 1), pages)
        return render_template("pedidos.html", pendentes=rows, ativos=active,
                               historia={r["id"]: requests.timeline(conn, r["id"]) for r in rows},
                               aviso=request.args.get("aviso"), busca=wanted,
                               todos=found[(number - 1) * PAGE:number * PAGE], pagina=number,
                               paginas=pages, duracao=duration)

    @app.get("/pedidos.csv")
    @page(*REVIEWERS)
    def requests_csv() -> Any:
        """Every request and release, as the committee's records (codes kept, local times)."""
        tz = g.rt.policy.calendar.tz
        rows = ({"numero": r["id"], "tipo": r["kind"], "alvo": f"{r['target_kind']}:{r['target']}",
                 "objeto": r["obj"], "situacao": r["status"], "de": local_time(r["start"], tz),
                 "ate": local_time(r["end"], tz), "motivo": r["reason"],
                 "pedido_por": r["requested_by"], "decidido_por": r["approved_by"],
                 "comite": r["committee_ref"], "analise": r["analysis_ref"],
                 "decisao": r["decision_note"], "referencia": r["ref"]}
                for r in releases.listing(state()))
        return csv_download(rows, ["numero", "tipo", "alvo", "objeto", "situacao", "de", "ate",
                                   "motivo", "pedido_por", "decidido_por", "comite", "analise",
                                   "decisao", "referencia"], "pedidos.csv")

    @app.post("/pedidos/<int:rid>/aprovar")
    @page(*REVIEWERS)
    def approve_request(rid: int) -> Any:
        user: User = g.user
        conn = state()
        row = release(conn, rid)
        try:
            service.approve(conn, g.rt.policy, rid, user.login, request.form.to_dict(),
                            categories_of(row))
        except GuaritaError as exc:
            return form_error(exc)
        return redirect(url_for("pending", aviso=f"Pedido nº {rid} aprovado."))

    @app.post("/pedidos/<int:rid>/negar")
    @page(*REVIEWERS)
    def deny(rid: int) -> Any:
        user: User = g.user
        conn = state()
        release(conn, rid)
        try:
            service.deny(conn, g.rt.policy, rid, user.login, request.form.to_dict())
        except GuaritaError as exc:
            return form_error(exc)
        return redirect(url_for("pending", aviso=f"Pedido nº {rid} negado."))


def own_block(rt: Runtime, user: User, ref: str) -> dict[str, Any] | None:
    """The block page's record for `ref`, when it is this user's own."""
    conn = query.open_readonly(rt.policy.paths) if ref else None
    if conn is None:
        return None
    try:
        found = list(query.records(conn, query.Filters(ref=ref), 1))
    finally:
        conn.close()
    if not found or found[0]["user"] != user.login or found[0]["decision"] != "block":
        return None
    return found[0]
