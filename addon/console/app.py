"""The console: pages in Portuguese and a JSON API over the same library functions as the CLI.

Flask, because it is already installed with mitmproxy (no new dependency to vet), its
handlers are synchronous like the library they call (SQLite, ldap3), and waitress serves it
in production in pure Python. This module makes the app (session, sign-in, the guards run
before every view); the views are in `request_pages`, `admin_pages`, `audit_pages` and
`api`, each a thin call into `addon.state`, `addon.audit` and `Runtime`: no rule lives
here. Every change is made with the signed-in login as the operator, so the admin history
says who did it (Art. 11 §4–6).
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, g, redirect, render_template, request, session, url_for

from addon.console import (
    admin_pages,
    api,
    audit_pages,
    home,
    justified_pages,
    labels,
    request_pages,
)
from addon.console.auth import (
    ROLE_NAMES,
    SignInRefused,
    User,
    csrf_ok,
    local_path,
    new_csrf,
    password_stamp,
    secret_key,
    sign_in,
)
from addon.console.guards import api_error, close_state, readable, state
from addon.errors import DirectoryUnavailable, UnknownUser
from addon.identity.credentials import AuthCache
from addon.policy.pac import pac
from addon.runtime import Runtime, RuntimeSource
from addon.settings.holidays_apart import table_apart
from addon.state import console_sessions


def create_app(config: Path, secure_cookie: bool = False) -> Flask:
    app = Flask(__name__)
    local = threading.local()
    brake = AuthCache()

    def runtime() -> Runtime:
        """This thread's runtime, brought up to date (policy, directory, state)."""
        source: RuntimeSource | None = getattr(local, "source", None)
        if source is None:
            source = local.source = RuntimeSource(config, holidays=table_apart)
        else:
            source.refresh()
        return source.current

    first = runtime()
    app.extensions["guarita.runtime"] = runtime  # views refresh it after an edit
    app.config.update(
        SECRET_KEY=secret_key(first.policy.paths.state_dir),
        SESSION_COOKIE_NAME="guarita_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=secure_cookie,
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=console_sessions.ABSOLUTE_SECONDS),
        MAX_CONTENT_LENGTH=64 * 1024,
    )

    @app.before_request
    def load_user() -> None:
        g.rt = runtime()
        g.user = None
        if request.path.startswith("/api/"):
            auth = request.authorization
            if auth is None or auth.type != "basic":
                abort(api_error(401, "use HTTP Basic com usuário e senha da rede"))
            try:
                g.user = sign_in(g.rt.policy, g.rt.directory, brake, auth.username or "",
                                 auth.password or "", request.remote_addr or "-")
            except SignInRefused as exc:
                abort(api_error(401, str(exc)))
            return
        s = live_session()
        if s is not None:
            g.user, g.csrf = User(s.login, s.roles), s.csrf
        if request.method == "POST" and request.endpoint != "sign_in_post":
            if not csrf_ok(g.get("csrf"), request.form.get("csrf")):
                abort(Response(render_template("erro.html", titulo="Formulário expirado",
                                               texto="Recarregue a página e tente de novo."),
                               403))

    def live_session() -> console_sessions.Session | None:
        """The server-side session the cookie names, its roles and password stamp asked
        again every few minutes: a role IT took away or a changed password ends the
        session at the next check."""
        token = session.get("sid")
        if not token:
            return None
        conn = state()
        s = console_sessions.current(conn, token)
        if s is None:
            session.clear()
            return None
        if time.time() - s.checked > console_sessions.CHECK_SECONDS:
            try:
                groups = g.rt.directory.lookup(s.login).groups
            except UnknownUser:
                console_sessions.end(conn, token, "unknown_user")
                session.clear()
                return None
            except DirectoryUnavailable:
                return s  # asked again at the next page; the sign-in checked them
            roles = g.rt.policy.roles_of(frozenset(x.casefold() for x in groups))
            stamp = password_stamp(g.rt.directory, s.login)
            if not console_sessions.rechecked(conn, s, roles, stamp=stamp):
                session.clear()
                return None
        return s

    app.teardown_appcontext(close_state)

    def http_error(status: int, title: str, text: str) -> Any:
        # Portuguese for people, JSON for the API: never Flask's English pages
        if request.path.startswith("/api/"):
            return api_error(status, text)
        return render_template("erro.html", titulo=title, texto=text), status

    app.register_error_handler(404, lambda e: http_error(
        404, "Página não encontrada", "Este endereço não existe no console."))
    app.register_error_handler(405, lambda e: http_error(
        405, "Operação não permitida", "Este endereço não aceita esta operação."))
    app.register_error_handler(413, lambda e: http_error(
        413, "Pedido grande demais", "O formulário enviado é grande demais."))

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
        return {"user": g.get("user"), "csrf": g.get("csrf", ""),
                "role_names": ROLE_NAMES, "status_pt": labels.STATUSES,
                "decisao_pt": labels.DECISIONS, "regra": labels.rule,
                "categoria": lambda name: g.rt.policy.label(name),
                "when": lambda ts: readable(ts, g.rt.policy.calendar.tz),
                "org": g.rt.policy.organisation}

    @app.get("/proxy.pac")
    def proxy_pac() -> Any:
        """Public: browsers fetch it before anyone signs in (GPO, WPAD)."""
        rt: Runtime = g.rt
        if not rt.policy.cluster_nodes:
            abort(404)
        return Response(pac(rt.policy.cluster_nodes, rt.policy.direct_domains),
                        mimetype="application/x-ns-proxy-autoconfig")

    # ------------------------------------------------------------- sign-in
    def sign_in_page(erro: str | None, proximo: object, status: int = 200) -> Any:
        # login CSRF: a foreign page must not sign a browser in as someone else, so the
        # form carries a token bound to this browser's (pre-sign-in) session
        session.setdefault("login_csrf", new_csrf())
        return render_template("entrar.html", erro=erro, proximo=local_path(proximo),
                               login_csrf=session["login_csrf"]), status

    @app.get("/entrar")
    def sign_in_form() -> Any:
        return sign_in_page(None, request.args.get("next", "/"))

    @app.post("/entrar")
    def sign_in_post() -> Any:
        if not csrf_ok(session.get("login_csrf"), request.form.get("csrf")):
            return sign_in_page("O formulário expirou: entre de novo.",
                                request.form.get("proximo", "/"), 403)
        try:
            user = sign_in(g.rt.policy, g.rt.directory, brake, request.form.get("login", ""),
                           request.form.get("senha", ""), request.remote_addr or "-")
        except SignInRefused as exc:
            return sign_in_page(str(exc), request.form.get("proximo", "/"), 401)
        old = session.get("sid")
        if old:
            console_sessions.end(state(), old, "signed_in_again")
        session.clear()  # a new session id at every sign-in: no fixation
        session.permanent = True
        session["sid"] = console_sessions.start(state(), user.login, user.roles,
                                                stamp=user.stamp)
        console_sessions.prune(state())
        return redirect(local_path(request.form.get("proximo") or "/"))

    @app.post("/sair")
    def sign_out() -> Any:
        console_sessions.end(state(), session.get("sid"))  # this cookie opens nothing again
        session.clear()
        return redirect(url_for("sign_in_form"))

    for module in (home, request_pages, admin_pages, audit_pages, justified_pages, api):
        module.register(app)
    return app
