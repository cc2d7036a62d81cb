"""Console pages of Art. 10 §1 and of each person's own data (LGPD Art. 18–19).

"Acessos justificados": a chief sees the justifications of their own staff (auditors and
IT everyone's) and may revoke one, and count it as a violation with a reason. "Meus dados":
every signed-in person sees what the institution records about them — their requests of
the last 30 days, blocks and releases, justified accesses, and who read their records —
and may justify a site from here when their machine has no proxy CA for the HTTPS block
page. Only the person's own data: the page takes no login from the address, and a
justification number that is not in the reader's scope does not exist for them.
"""

from __future__ import annotations

import json
import time
from typing import Any

from flask import Flask, abort, g, redirect, render_template, request, url_for

from addon.audit import access, query
from addon.console.auth import User
from addon.console.guards import AUDITORS, form_error, page, reader_scope, state
from addon.errors import GuaritaError
from addon.service import justify, reads
from addon.service import violations as service_violations
from addon.state import blocks, explanations, justifications, releases

DAYS = 30


def register(app: Flask) -> None:
    @app.get("/justificados")
    @page(*AUDITORS, "chefia")
    def justified() -> Any:
        scope = reader_scope()
        rows = justifications.listed(state(), None if scope is None else frozenset(scope),
                                     time.time() - DAYS * 86400)
        return render_template("justificados.html", justificativas=_shown(rows),
                               escopo=scope, dias=DAYS, aviso=request.args.get("aviso"))

    @app.post("/justificados/<int:jid>/revogar")
    @page(*AUDITORS, "chefia")
    def revoke(jid: int) -> Any:
        user: User = g.user
        conn = state()
        try:
            row = justifications.fetch(conn, jid)
        except GuaritaError:
            abort(404)
        scope = reader_scope()
        if scope is not None and row["login"] not in scope:
            abort(404)  # not this chief's staff: it does not exist for them
        try:
            justify.revoke(conn, jid, user.login, request.form.get("motivo", ""),
                           request.form.get("violacao") == "sim")
        except GuaritaError as exc:
            return form_error(exc)
        said = " e contada como violação" if request.form.get("violacao") == "sim" else ""
        return redirect(url_for("justified", aviso=f"Justificativa nº {jid} revogada{said}."))

    @app.get("/meus-dados")
    @page()
    def my_data() -> Any:
        user: User = g.user
        conn, rt = state(), g.rt
        since = time.time() - DAYS * 86400
        f = query.Filters(user=user.login, since=since)
        # the person reading their own records is a read like any other, in the access log
        access.record(conn, reads.read_of(user.login, "console", "own", f))
        audit = query.open_readonly(rt.policy.paths)
        records: list[dict[str, Any]] = []
        if audit is not None:
            try:
                records = list(query.records(audit, f, 500))
            finally:
                audit.close()
        target = releases.Target("user", user.login)
        mine = releases.listing(conn, target=target)
        blocked = blocks.of_subject(conn, "user", user.login)
        readers = [r for r in access.entries(conn, user=user.login, since=since)
                   if not (r["reader"] == user.login and r["action"] == "own")]
        counted = _my_violations(user.login, since)
        notes = explanations.of_people(conn, frozenset({user.login}))
        return render_template(
            "meus_dados.html", registros=records, liberacoes=mine, bloqueios=blocked,
            violacoes=counted, explicacoes={ref: notes.get((user.login, ref), [])
                                            for ref in (a.refs[0] for a in counted)},
            justificativas=_shown(justifications.listed(conn, frozenset({user.login}), since)),
            leituras=readers, dias=DAYS, politica=rt.policy, aviso=request.args.get("aviso"),
            hoje=justifications.used_today(conn, rt.policy, user.login, time.time()))

    @app.post("/meus-dados/explicar")
    @page()
    def explain_violation() -> Any:
        """The person's word on a violation counted against them, for their chief to read."""
        user: User = g.user
        audit = query.open_readonly(g.rt.policy.paths)
        if audit is None:
            abort(404)
        try:
            service_violations.explain(audit, state(), g.rt.policy.notify, user.login,
                                       request.form.get("ref", ""),
                                       request.form.get("texto", ""),
                                       time.time() - DAYS * 86400)
        except GuaritaError as exc:
            return form_error(exc)
        finally:
            audit.close()
        return redirect(url_for("my_data", aviso="Explicação registrada: a sua chefia a vê "
                                "junto da violação."))

    @app.post("/meus-dados/justificar")
    @page()
    def justify_here() -> Any:
        user: User = g.user
        rt = g.rt
        identity = rt.identity(user.login, None, time.time())
        try:
            opened = justify.open_site(state(), rt, identity, request.form.get("site", ""),
                                       request.form.get("justificativa", ""))
        except GuaritaError as exc:
            return form_error(exc)
        return redirect(url_for("my_data", aviso=f"{opened.domain} aberto para você por "
                                f"{rt.policy.justify_minutes} minutos (justificativa nº "
                                f"{opened.id})."))


def _my_violations(login: str, since: float) -> list[Any]:
    """The person's attempts that the policy's rules count, as every door counts them."""
    audit = query.open_readonly(g.rt.policy.paths)
    if audit is None:
        return []
    try:
        found = service_violations.count(audit, state(), query.Filters(user=login, since=since),
                                         g.rt.policy.notify)
    finally:
        audit.close()
    return sorted({a for v in found for a in v.attempts if a.refs}, key=lambda a: -a.first)


def _shown(rows: list[Any]) -> list[dict[str, Any]]:
    now = time.time()
    return [{**dict(r), "categorias": json.loads(r["categories"]),
             "aberta": r["revoked"] is None and r["end"] > now} for r in rows]
