"""What every console view shares: the role guard, the state connection, errors, the time format.

Views read `g.rt` (the runtime brought up to date for this request) and `g.user` (set by
the app before each request); nothing here decides a rule.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from flask import Response, abort, current_app, g, jsonify, redirect, render_template, request, url_for

from addon.console.auth import User
from addon.errors import GuaritaError, ReleaseError
from addon.runtime import Runtime
from addon.service.exports import write_csv
from addon.state import db, releases
from addon.store.seam import Connection, Row

REVIEWERS = ("comite", "ti")
AUDITORS = ("auditoria", "ti")


def page(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Signed-in users only; with `roles`, only holders of one of them (403 otherwise)."""
    def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def inner(*a: Any, **kw: Any) -> Any:
            user: User | None = g.user
            api = request.path.startswith("/api/")
            if user is None:
                if api:
                    abort(api_error(401, "entre com o seu usuário e a sua senha"))
                return redirect(url_for("sign_in_form", next=request.full_path))
            if roles and not user.has(*roles):
                if api:
                    abort(api_error(403, "sem permissão"))
                abort(Response(render_template(
                    "erro.html", titulo="Sem permissão",
                    texto="Esta página é do Comitê, da TI ou da Auditoria."), 403))
            return view(*a, **kw)
        return inner
    return wrap


def reader_scope() -> tuple[str, ...] | None:
    """Whose records and justifications this user may read: everyone (auditors, IT: None)
    or a chief's staff (asked of the directory once per page, however often it is needed)."""
    if "scope" not in g:
        user: User = g.user
        if user.has(*AUDITORS):
            g.scope = None
        else:
            try:
                g.scope = tuple(sorted(g.rt.directory.staff(user.login)))
            except GuaritaError:
                g.scope = ()  # the directory cannot say who: nobody, not everybody
    scope: tuple[str, ...] | None = g.scope
    return scope


def runtime() -> Runtime:
    """This thread's runtime brought up to date again (after an edit recompiled the index)."""
    rt: Runtime = current_app.extensions["guarita.runtime"]()
    g.rt = rt
    return rt


def state() -> Connection:
    """This request's state connection: opened once, closed when the request ends."""
    conn = g.get("state_conn")
    if conn is None:
        conn = g.state_conn = db.connect(g.rt.policy.paths)
    return conn


def close_state(exc: BaseException | None = None) -> None:
    conn = g.pop("state_conn", None)
    if conn is not None:
        conn.close()


def release(conn: Connection, rid: int) -> Row:
    try:
        return releases.fetch(conn, rid)
    except ReleaseError:
        abort(404)  # no such request (or not this person's: the views say so the same way)


def categories_of(row: Row) -> tuple[str, ...]:
    """What the index gives a request's domain: an approval is held to the grant's rules."""
    rt: Runtime = g.rt
    return tuple(rt.index.categories_of(row["obj"])) if row["kind"] == "domain" else ()


def readable(ts: float | None, tz: Any) -> str:
    """Times as people read them here: 23/11/2026 18:34 (the CSV keeps ISO 8601)."""
    return dt.datetime.fromtimestamp(ts, tz).strftime("%d/%m/%Y %H:%M") if ts else "-"


def form_error(exc: Exception) -> Response:
    text = getattr(exc, "for_user", None) or str(exc)
    return Response(render_template("erro.html", titulo="Não foi possível", texto=text), 400)


def csv_download(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], name: str
                 ) -> Response:
    """A table as a CSV file, formulas neutralised (auditors open it in a spreadsheet)."""
    out = io.StringIO()
    write_csv(out, rows, columns)
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={name}"})


def api_error(status: int, message: str, field: str | None = None) -> Response:
    resp = jsonify({"erro": message, **({"campo": field} if field else {})})
    resp.status_code = status
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Basic realm="guarita", charset="UTF-8"'
    return resp
