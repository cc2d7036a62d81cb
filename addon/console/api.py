"""The console's JSON API under the same roles: other institutional systems (the protocol
system of Art. 4) file and follow requests. HTTP Basic on every call, so no cookie and no
CSRF; the app signs the caller in before the view runs."""

from __future__ import annotations

import sqlite3
from typing import Any

from flask import Flask, g, jsonify, request

from addon.console.auth import User
from addon.console.guards import REVIEWERS, api_error, approve, page, release, state
from addon.errors import GuaritaError
from addon.state import releases, requests


def register(app: Flask) -> None:
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
        body = request.get_json(silent=True) or {}
        try:
            rid = requests.request_access(state(), g.rt.policy, user.login,
                                          domain=str(body.get("site", "")), category=None,
                                          days=float(body.get("dias", 1)),
                                          reason=str(body.get("justificativa", "")),
                                          ref=body.get("ref"))
        except (GuaritaError, ValueError, TypeError) as exc:
            return api_error(400, getattr(exc, "for_user", None) or str(exc))
        return jsonify(release_json(release(state(), rid))), 201

    @app.post("/api/pedidos/<int:rid>/<acao>")
    @page()
    def api_act(rid: int, acao: str) -> Any:
        user: User = g.user
        conn = state()
        row = release(conn, rid)
        body = request.get_json(silent=True) or {}
        try:
            if acao == "recurso" and row["requested_by"] == user.login:
                requests.appeal(conn, rid, str(body.get("motivo", "")), user.login, g.rt.policy)
            elif acao in ("aprovar", "negar") and user.has(*REVIEWERS):
                if acao == "aprovar":
                    approve(conn, row, user.login, body.get("analise"), body.get("comite"))
                else:
                    requests.deny(conn, rid, str(body.get("motivo", "")), user.login, g.rt.policy)
            else:
                return api_error(403, "sem permissão")
        except GuaritaError as exc:
            return api_error(400, str(exc))
        return jsonify(release_json(release(conn, rid)))


def release_json(r: sqlite3.Row) -> dict[str, Any]:
    return {"id": r["id"], "tipo": r["kind"], "objeto": r["obj"], "situacao": r["status"],
            "pedido_por": r["requested_by"], "justificativa": r["reason"],
            "decisao": r["decision_note"], "inicio": r["start"], "fim": r["end"],
            "referencia": r["ref"]}
