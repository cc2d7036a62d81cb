"""The console's JSON API under the same roles: other institutional systems (the protocol
system of Art. 4) file and follow requests. HTTP Basic on every call, so no cookie and no
CSRF; the app signs the caller in before the view runs."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, jsonify, render_template, request

from addon.audit import query
from addon.console.audit_pages import day_start
from addon.console.auth import User
from addon.console.guards import AUDITORS, REVIEWERS, api_error, categories_of, page, release, state
from addon.errors import GuaritaError
from addon.service import admin, reads
from addon.service import requests as service
from addon.service.inputs import InvalidInput
from addon.state import releases
from addon.store.seam import Row


def register(app: Flask) -> None:
    @app.get("/ajuda/api")
    @page()
    def api_help() -> Any:
        """The API documented for the people who connect other systems to it."""
        return render_template("api.html")

    @app.get("/api/auditoria")
    @page(*AUDITORS)
    def api_audit() -> Any:
        """Audit records for auditors' systems: the console's filters (usuario, ip, site,
        decisao, ref, desde, ate as AAAA-MM-DD), `processo` and `finalidade` for the access
        log, `limite` up to 1,000; each call is in the access log like any other read."""
        a = request.args
        tz = g.rt.policy.calendar.tz
        try:
            f = query.Filters(user=a.get("usuario") or None, ip=a.get("ip") or None,
                              host=a.get("site") or None, decision=a.get("decisao") or None,
                              ref=a.get("ref") or None,
                              since=day_start(a.get("desde"), tz, "desde"),
                              until=day_start(a.get("ate"), tz, "ate", next_day=True))
            limit = min(max(int(a.get("limite") or 100), 1), 1000)
        except ValueError:
            return api_error(400, "limite deve ser um número", "limite")
        except GuaritaError as exc:
            return refused(exc)
        try:
            reads.admit(g.rt.policy, state(), reads.read_of(
                g.user.login, "api", "query", f, a.get("finalidade"), a.get("processo")))
        except GuaritaError as exc:
            return refused(exc)
        conn = query.open_readonly(g.rt.policy.paths)
        if conn is None:
            return jsonify([])
        try:
            return jsonify([dict(r) for r in query.records(conn, f, limit)])
        finally:
            conn.close()

    @app.get("/api/pedidos")
    @page()
    def api_list() -> Any:
        user: User = g.user
        rows = releases.listing(state())
        if not user.has(*REVIEWERS):
            rows = [r for r in rows if r["requested_by"] == user.login]
        return jsonify([release_json(r) for r in rows])

    @app.post("/api/pedidos")
    @page()
    def api_file() -> Any:
        user: User = g.user
        try:
            rid = service.file_access(state(), g.rt.policy, user.login,
                                      request.get_json(silent=True))
        except GuaritaError as exc:
            return refused(exc)
        return jsonify(release_json(release(state(), rid))), 201

    @app.post("/api/pedidos/<int:rid>/<acao>")
    @page()
    def api_act(rid: int, acao: str) -> Any:
        user: User = g.user
        conn = state()
        row = release(conn, rid)
        body = request.get_json(silent=True)
        policy = g.rt.policy
        try:
            if acao == "recurso" and row["requested_by"] == user.login:
                service.appeal(conn, policy, rid, user.login, body)
            elif acao == "aprovar" and user.has(*REVIEWERS):
                service.approve(conn, policy, rid, user.login, body, categories_of(row))
            elif acao == "negar" and user.has(*REVIEWERS):
                service.deny(conn, policy, rid, user.login, body)
            else:
                return api_error(403, "sem permissão")
        except GuaritaError as exc:
            return refused(exc)
        return jsonify(release_json(release(conn, rid)))

    @app.post("/api/bloqueios")
    @page("ti")
    def api_block() -> Any:
        """Body: {"tipo": "user"|"machine", "alvo": LOGIN|IP, "motivo": TEXT}."""
        user: User = g.user
        try:
            bid, unchecked = admin.block(state(), g.rt.directory, user.login,
                                         request.get_json(silent=True))
        except GuaritaError as exc:
            return refused(exc)
        return jsonify({"bloqueio": bid, "login_conferido": unchecked is None}), 201

    @app.post("/api/bloqueios/desbloquear")
    @page("ti")
    def api_unblock() -> Any:
        """Body: {"tipo": "user"|"machine", "alvo": LOGIN|IP, "autorizado_por": NAME}."""
        user: User = g.user
        try:
            admin.unblock(state(), user.login, request.get_json(silent=True))
        except GuaritaError as exc:
            return refused(exc)
        return jsonify({"desbloqueado": True})

    @app.post("/api/nivel4")
    @page("ti")
    def api_level4() -> Any:
        """Body: {"usuario": LOGIN, "ate": "AAAA-MM-DD[THH:MM]", "comite": REF, "motivo": TEXT}."""
        user: User = g.user
        try:
            rid, until, unchecked = admin.grant_level4(
                state(), g.rt.policy, g.rt.directory, user.login, request.get_json(silent=True))
        except GuaritaError as exc:
            return refused(exc)
        return jsonify({"liberacao": rid, "fim": until, "login_conferido": unchecked is None}), 201


def refused(exc: GuaritaError) -> Any:
    """A 400 in the person's words: the field, when one was wrong, and why."""
    if isinstance(exc, InvalidInput):
        return api_error(400, exc.for_user, exc.field)
    return api_error(400, exc.for_user or str(exc))


def release_json(r: Row) -> dict[str, Any]:
    return {"id": r["id"], "tipo": r["kind"], "objeto": r["obj"], "situacao": r["status"],
            "pedido_por": r["requested_by"], "justificativa": r["reason"],
            "decisao": r["decision_note"], "inicio": r["start"], "fim": r["end"],
            "referencia": r["ref"]}
