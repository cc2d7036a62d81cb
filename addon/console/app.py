"""The console: pages in Portuguese and a JSON API over the same library functions as the CLI.

Flask, because it is already installed with mitmproxy (no new dependency to vet), its
handlers are synchronous like the library they call (SQLite, ldap3), and waitress serves it
in production in pure Python. Every view is a thin call into `addon.state`, `addon.audit`
and `Runtime`: no rule lives here. Every change is made with the signed-in login as the
operator, so the admin history says who did it (Art. 11 §4–6).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import functools
import io
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, g, jsonify, redirect, render_template, request, session, url_for

from addon.audit import query
from addon.console.auth import ROLE_NAMES, SignInRefused, User, csrf_ok, new_csrf, secret_key, sign_in
from addon.errors import GuaritaError, HostError
from addon.identity.credentials import AuthCache
from addon.lists import edits
from addon.policy.hosts import host_of_url, normalize_host
from addon.policy.pac import pac
from addon.runtime import Runtime, RuntimeSource
from addon.state import blocks, db, releases, requests
from addon.state.history import local_time

PENDING = ("requested", "appealed")
STATUS_PT = {"requested": "aguardando análise", "appealed": "em recurso", "active": "liberado",
             "denied": "negado", "revoked": "encerrado"}
REVIEWERS = ("comite", "ti")
AUDITORS = ("auditoria", "ti")
AUDIT_COLUMNS = ["ts", "ref", "user", "client_ip", "level", "method", "host", "path", "status",
                 "decision", "rule", "categories"]


def create_app(config: Path, secure_cookie: bool = False) -> Flask:
    app = Flask(__name__)
    local = threading.local()
    brake = AuthCache()

    def runtime() -> Runtime:
        """This thread's runtime, brought up to date (policy, directory, state)."""
        source: RuntimeSource | None = getattr(local, "source", None)
        if source is None:
            source = local.source = RuntimeSource(config)
        else:
            source.refresh()
        return source.current

    first = runtime()
    app.config.update(
        SECRET_KEY=secret_key(first.policy.paths.state_dir),
        SESSION_COOKIE_NAME="guarita_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=secure_cookie,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
        MAX_CONTENT_LENGTH=64 * 1024,
    )

    @app.before_request
    def load_user() -> None:
        g.rt = runtime()
        g.user = None
        if request.path.startswith("/api/"):
            auth = request.authorization
            if auth is None or auth.type != "basic":
                abort(_api_error(401, "use HTTP Basic com usuário e senha da rede"))
            try:
                g.user = sign_in(g.rt.policy, g.rt.directory, brake, auth.username or "",
                                 auth.password or "", request.remote_addr or "-")
            except SignInRefused as exc:
                abort(_api_error(401, str(exc)))
            return
        login = session.get("login")
        if login:
            g.user = User(login, frozenset(session.get("roles", [])))
        if request.method == "POST" and request.endpoint != "sign_in_post":
            if not csrf_ok(session.get("csrf"), request.form.get("csrf")):
                abort(Response(render_template("erro.html", titulo="Formulário expirado",
                                               texto="Recarregue a página e tente de novo."),
                               403))

    @app.after_request
    def headers(resp: Response) -> Response:
        resp.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.context_processor
    def common() -> dict[str, Any]:
        return {"user": g.get("user"), "csrf": session.get("csrf", ""),
                "role_names": ROLE_NAMES, "status_pt": STATUS_PT,
                "when": lambda ts: _readable(ts, g.rt.policy.calendar.tz),
                "org": g.rt.policy.organisation}

    def page(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Signed-in users only; with `roles`, only holders of one of them (403 otherwise)."""
        def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(view)
            def inner(*a: Any, **kw: Any) -> Any:
                user: User | None = g.user
                if user is None:
                    if request.path.startswith("/api/"):
                        abort(_api_error(401, "sign in"))
                    return redirect(url_for("sign_in_form", next=request.full_path))
                if roles and not user.has(*roles):
                    if request.path.startswith("/api/"):
                        abort(_api_error(403, "sem permissão"))
                    abort(Response(render_template(
                        "erro.html", titulo="Sem permissão",
                        texto="Esta página é do Comitê, da TI ou da Auditoria."), 403))
                return view(*a, **kw)
            return inner
        return wrap

    def state() -> sqlite3.Connection:
        return db.connect(g.rt.policy.paths.state_dir)

    @app.get("/proxy.pac")
    def proxy_pac() -> Any:
        """Public: browsers fetch it before anyone signs in (GPO, WPAD)."""
        rt: Runtime = g.rt
        if not rt.policy.cluster_nodes:
            abort(404)
        return Response(pac(rt.policy.cluster_nodes, rt.policy.direct_domains),
                        mimetype="application/x-ns-proxy-autoconfig")

    # ------------------------------------------------------------- sign-in
    @app.get("/entrar")
    def sign_in_form() -> Any:
        return render_template("entrar.html", erro=None, proximo=request.args.get("next", "/"))

    @app.post("/entrar")
    def sign_in_post() -> Any:
        try:
            user = sign_in(g.rt.policy, g.rt.directory, brake, request.form.get("login", ""),
                           request.form.get("senha", ""), request.remote_addr or "-")
        except SignInRefused as exc:
            return render_template("entrar.html", erro=str(exc),
                                   proximo=request.form.get("proximo", "/")), 401
        session.clear()
        session.permanent = True
        session.update(login=user.login, roles=sorted(user.roles), csrf=new_csrf())
        target = request.form.get("proximo") or "/"
        # a path of this console only: "//host" and "/\\host" are other sites to a browser
        local = target.startswith("/") and not target.startswith(("//", "/\\")) and "\\" not in target
        return redirect(target if local else "/")

    @app.post("/sair")
    def sign_out() -> Any:
        session.clear()
        return redirect(url_for("sign_in_form"))

    @app.get("/")
    @page()
    def home() -> Any:
        user: User = g.user
        if user.has(*REVIEWERS):
            return redirect(url_for("pending"))
        if user.has(*AUDITORS):
            return redirect(url_for("audit"))
        return redirect(url_for("mine"))

    # ------------------------------------------------------------- end user
    @app.get("/meus-pedidos")
    @page()
    def mine() -> Any:
        user: User = g.user
        conn = state()
        rows = [r for r in releases.listing(conn) if r["requested_by"] == user.login]
        blocked = _own_block(g.rt, user, request.args.get("ref", "").strip())
        return render_template("meus_pedidos.html", pedidos=list(reversed(rows)),
                               bloqueio=blocked, aviso=request.args.get("aviso"))

    @app.post("/meus-pedidos")
    @page()
    def file_request() -> Any:
        user: User = g.user
        try:
            host = normalize_host(request.form.get("host", ""))
            days = float(request.form.get("dias", "1") or 1)
            rid = requests.request_access(state(), g.rt.policy, user.login, domain=host,
                                          category=None, days=days,
                                          reason=request.form.get("justificativa", "")[:2000],
                                          ref=request.form.get("ref") or None)
        except (GuaritaError, ValueError, TypeError) as exc:
            return _form_error(exc)
        return redirect(url_for("mine", aviso=f"Pedido nº {rid} registrado: aguarde a análise."))

    @app.post("/meus-pedidos/<int:rid>/recurso")
    @page()
    def appeal(rid: int) -> Any:
        user: User = g.user
        conn = state()
        row = _release(conn, rid)
        if row["requested_by"] != user.login:
            abort(404)  # another person's request does not exist for this user
        try:
            requests.appeal(conn, rid, request.form.get("motivo", ""), user.login, g.rt.policy)
        except GuaritaError as exc:
            return _form_error(exc)
        return redirect(url_for("mine", aviso=f"Recurso do pedido nº {rid} registrado."))

    # ------------------------------------------------------------- committee and IT
    @app.get("/pedidos")
    @page(*REVIEWERS)
    def pending() -> Any:
        conn = state()
        rows = releases.listing(conn, statuses=PENDING)
        active = releases.listing(conn, active_only=True)
        return render_template("pedidos.html", pendentes=rows, ativos=active,
                               aviso=request.args.get("aviso"))

    @app.post("/pedidos/<int:rid>/aprovar")
    @page(*REVIEWERS)
    def approve(rid: int) -> Any:
        user: User = g.user
        conn = state()
        row = _release(conn, rid)
        try:
            cats = g.rt.index.categories_of(row["obj"]) if row["kind"] == "domain" else ()
            requests.approve(conn, g.rt.policy, rid, user.login,
                             request.form.get("analise") or None, tuple(cats),
                             request.form.get("comite") or None)
        except GuaritaError as exc:
            return _form_error(exc)
        return redirect(url_for("pending", aviso=f"Pedido nº {rid} aprovado."))

    @app.post("/pedidos/<int:rid>/negar")
    @page(*REVIEWERS)
    def deny(rid: int) -> Any:
        user: User = g.user
        _release(state(), rid)
        try:
            requests.deny(state(), rid, request.form.get("motivo", ""), user.login, g.rt.policy)
        except GuaritaError as exc:
            return _form_error(exc)
        return redirect(url_for("pending", aviso=f"Pedido nº {rid} negado."))

    @app.get("/explicar")
    @page(*REVIEWERS)
    def explain() -> Any:
        url, who = request.args.get("url", "").strip(), request.args.get("usuario", "").strip()
        answer, erro = None, None
        if url:
            try:
                host = host_of_url(url)[1] if "/" in url else normalize_host(url)  # as `check`
                rt: Runtime = g.rt
                now = time.time()
                identity = rt.identity(who or None, None, now)  # nobody: level 0
                answer = {"host": host, "d": rt.decide(host, identity, now),
                          "usuario": who or "-"}
            except (GuaritaError, HostError) as exc:
                erro = str(exc)
        return render_template("explicar.html", url=url, usuario=who, resposta=answer, erro=erro)

    @app.get("/liberacoes")
    @page(*REVIEWERS)
    def in_force() -> Any:
        """Level-4 assignments (always with an end), releases in force, and blocks with who
        made and who authorised lifting them."""
        conn = state()
        rows = releases.listing(conn, active_only=True)
        return render_template("liberacoes.html", nivel4=[r for r in rows if r["kind"] == "level"],
                               bloqueios=blocks.listing(conn, include_lifted=True)[-100:])

    @app.route("/categorias", methods=["GET", "POST"])
    @page("ti")
    def categories() -> Any:
        """Which lists classify a site, and IT's edits to the institution's lists (Art. 9 §8)."""
        rt: Runtime = g.rt
        aviso = erro = None
        if request.method == "POST":
            user: User = g.user
            cat, host = request.form.get("categoria", ""), request.form.get("host", "")
            try:
                if request.form.get("acao") == "remover":
                    removed, _ = edits.remove_hosts(rt.policy, cat, [host], user.login)
                    aviso = f"{host}: retirado de {cat}" if removed else f"{host} não está em {cat}"
                else:
                    added, _ = edits.add_hosts(rt.policy, cat, [host], user.login)
                    aviso = f"{host}: incluído em {cat}" if added else f"{host} já está em {cat}"
            except GuaritaError as exc:
                erro = str(exc)
            rt = g.rt = runtime()  # the recompiled index
        host = request.values.get("host", "").strip()
        found: list[Any] = []
        if host and not erro:
            try:
                canonical = host_of_url(host)[1] if "/" in host else normalize_host(host)
                found = rt.index.matches(canonical)
            except GuaritaError as exc:
                erro = str(exc)
        return render_template("categorias.html", host=host, achados=found, aviso=aviso,
                               erro=erro, rotulos=rt.policy.category_labels)

    # ------------------------------------------------------------- auditors and chiefs
    def _scope() -> tuple[str, ...] | None:
        """Whose records this user may read: everyone (auditors, IT) or a chief's staff."""
        user: User = g.user
        if user.has(*AUDITORS):
            return None
        try:
            return tuple(sorted(g.rt.directory.staff(user.login)))
        except GuaritaError:
            return ()  # the directory cannot say who the staff are: nobody, not everybody

    def _filters() -> query.Filters:
        a = request.args
        return query.Filters(user=a.get("usuario") or None, ip=a.get("ip") or None,
                             host=a.get("site") or None, category=a.get("categoria") or None,
                             decision=a.get("decisao") or None, ref=a.get("ref") or None,
                             users=_scope())

    def _records(limit: int) -> list[dict[str, Any]]:
        path = g.rt.policy.paths.audit_file
        if not path.exists():
            return []
        conn = query.connect_readonly(path)
        try:
            return list(query.records(conn, _filters(), limit))
        finally:
            conn.close()

    @app.get("/auditoria")
    @page(*AUDITORS, "chefia")
    def audit() -> Any:
        rows = _records(200) if request.args else []
        charts = _charts(g.rt, _filters()) if request.args else None
        return render_template("auditoria.html", registros=rows, filtros=request.args,
                               graficos=charts, escopo=_scope())

    @app.get("/equipe")
    @page(*AUDITORS, "chefia")
    def team() -> Any:
        """Art. 19: the violations the policy counts, per person, last 30 days (a chief sees
        their own staff; auditors and IT everyone)."""
        path = g.rt.policy.paths.audit_file
        rows: list[dict[str, Any]] = []
        rules = tuple(sorted({r for v in g.rt.policy.notify.rules for r in v.rules}))
        if path.exists():
            conn = query.connect_readonly(path)
            try:
                f = query.Filters(since=time.time() - 30 * 86400, users=_scope())
                rows = query.violations(conn, f, rules)
            finally:
                conn.close()
        return render_template("equipe.html", violacoes=rows, regras=rules, escopo=_scope())

    @app.get("/auditoria.csv")
    @page(*AUDITORS, "chefia")
    def audit_csv() -> Any:
        out = io.StringIO()
        w = csv.DictWriter(out, AUDIT_COLUMNS, extrasaction="ignore")
        w.writeheader()
        tz = g.rt.policy.calendar.tz
        for r in _records(100_000):
            w.writerow({**r, "ts": local_time(r["ts"], tz)})
        return Response(out.getvalue(), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=auditoria.csv"})

    # ------------------------------------------------------------- JSON API
    @app.get("/api/pedidos")
    @page()
    def api_list() -> Any:
        user: User = g.user
        rows = releases.listing(state())
        if not user.has(*REVIEWERS):
            rows = [r for r in rows if r["requested_by"] == user.login]
        return jsonify([_release_json(r) for r in rows])

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
            return _api_error(400, getattr(exc, "for_user", None) or str(exc))
        return jsonify(_release_json(_release(state(), rid))), 201

    @app.post("/api/pedidos/<int:rid>/<acao>")
    @page()
    def api_act(rid: int, acao: str) -> Any:
        user: User = g.user
        conn = state()
        row = _release(conn, rid)
        body = request.get_json(silent=True) or {}
        try:
            if acao == "recurso" and row["requested_by"] == user.login:
                requests.appeal(conn, rid, str(body.get("motivo", "")), user.login, g.rt.policy)
            elif acao in ("aprovar", "negar") and user.has(*REVIEWERS):
                if acao == "aprovar":
                    cats = g.rt.index.categories_of(row["obj"]) if row["kind"] == "domain" else ()
                    requests.approve(conn, g.rt.policy, rid, user.login,
                                     body.get("analise"), tuple(cats))
                else:
                    requests.deny(conn, rid, str(body.get("motivo", "")), user.login, g.rt.policy)
            else:
                return _api_error(403, "sem permissão")
        except GuaritaError as exc:
            return _api_error(400, str(exc))
        return jsonify(_release_json(_release(conn, rid)))

    return app


def _charts(rt: Runtime, f: query.Filters) -> dict[str, Any] | None:
    """Requests and blocks per day, and the top categories, sites and users, for the page's
    own SVG bars (no script, no CDN: the console works on an offline network)."""
    path = rt.policy.paths.audit_file
    if not path.exists():
        return None
    # a window the indexes answer quickly on a large log: 30 days of one user, machine or
    # site; the last 24 hours of everything (the whole log's GROUP BY takes seconds)
    narrow = f.user or f.ip or f.host or f.ref or f.users is not None
    window = 30 * 86400 if narrow else 86400
    f = dataclasses.replace(f, since=max(f.since or 0, time.time() - window))
    conn = query.connect_readonly(path)
    try:
        return {"janela": "últimos 30 dias" if narrow else "últimas 24 horas",
                "dias": query.per_day(conn, f, rt.policy.calendar.tz),
                "categorias": query.report(conn, f, "category", 8),
                "sites": query.report(conn, f, "host", 8),
                "usuarios": query.report(conn, f, "user", 8)}
    finally:
        conn.close()


def _readable(ts: float | None, tz: Any) -> str:
    """Times as people read them here: 23/11/2026 18:34 (the CSV keeps ISO 8601)."""
    return dt.datetime.fromtimestamp(ts, tz).strftime("%d/%m/%Y %H:%M") if ts else "-"


def _release(conn: sqlite3.Connection, rid: int) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM releases WHERE id = ?", (rid,)).fetchone()
    if row is None:
        abort(404)
    return row


def _release_json(r: sqlite3.Row) -> dict[str, Any]:
    return {"id": r["id"], "tipo": r["kind"], "objeto": r["obj"], "situacao": r["status"],
            "pedido_por": r["requested_by"], "justificativa": r["reason"],
            "decisao": r["decision_note"], "inicio": r["start"], "fim": r["end"],
            "referencia": r["ref"]}


def _own_block(rt: Runtime, user: User, ref: str) -> dict[str, Any] | None:
    """The block page's record for `ref`, when it is this user's own."""
    path = rt.policy.paths.audit_file
    if not ref or not path.exists():
        return None
    conn = query.connect_readonly(path)
    try:
        found = list(query.records(conn, query.Filters(ref=ref), 1))
    finally:
        conn.close()
    if not found or found[0]["user"] != user.login or found[0]["decision"] != "block":
        return None
    return found[0]


def _form_error(exc: Exception) -> Response:
    text = getattr(exc, "for_user", None) or str(exc)
    return Response(render_template("erro.html", titulo="Não foi possível", texto=text), 400)


def _api_error(status: int, message: str) -> Response:
    resp = jsonify({"erro": message})
    resp.status_code = status
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Basic realm="guarita", charset="UTF-8"'
    return resp
