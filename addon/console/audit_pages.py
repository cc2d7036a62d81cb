"""Console pages for auditors and chiefs: the audit search and its CSV, violations per
person, and charts. A chief sees their own staff only (the directory's `manager`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from typing import Any

from flask import Flask, g, render_template, request

from addon.audit import query, violations
from addon.console.guards import AUDITORS, csv_download, form_error, page, reader_scope, state
from addon.errors import GuaritaError
from addon.identity.directory import chief_of
from addon.runtime import Runtime
from addon.service import reads
from addon.service import violations as service_violations
from addon.service.inputs import InvalidInput
from addon.state import explanations
from addon.state.history import local_time

AUDIT_COLUMNS = ["ts", "ref", "user", "client_ip", "level", "method", "host", "path", "status",
                 "decision", "rule", "categories"]


def register(app: Flask) -> None:
    _scope = reader_scope

    def _filters() -> query.Filters:
        """The search's fields; a day range is local days, `ate` included (InvalidInput
        for a date that is not one)."""
        a = request.args
        tz = g.rt.policy.calendar.tz
        return query.Filters(user=a.get("usuario") or None, ip=a.get("ip") or None,
                             host=a.get("site") or None, category=a.get("categoria") or None,
                             decision=a.get("decisao") or None, ref=a.get("ref") or None,
                             since=day_start(a.get("desde"), tz, "desde"),
                             until=day_start(a.get("ate"), tz, "ate", next_day=True),
                             users=_scope())

    def _admit(action: str, f: query.Filters) -> None:
        """The read, in the access log before any record is shown (GuaritaError: refused)."""
        a = request.args
        reads.admit(g.rt.policy, state(), reads.read_of(
            g.user.login, "console", action, f, a.get("finalidade"), a.get("processo")))

    def _records(limit: int) -> list[dict[str, Any]]:
        conn = query.open_readonly(g.rt.policy.paths)
        if conn is None:
            return []
        try:
            return list(query.records(conn, _filters(), limit))
        finally:
            conn.close()

    def _team() -> tuple[int, list[dict[str, Any]]]:
        """The days asked for (7, or 30) and the violations of whom this user may see, one
        row per person, counted as every door counts them."""
        days = 30 if request.args.get("dias") == "30" else 7
        n = g.rt.policy.notify
        conn = query.open_readonly(g.rt.policy.paths)
        if conn is None:
            return days, []
        try:
            f = query.Filters(since=time.time() - days * 86400, users=_scope())
            _admit("violations", f)
            return days, violations.per_person(service_violations.count(conn, state(), f, n))
        finally:
            conn.close()

    @app.get("/auditoria")
    @page(*AUDITORS, "chefia")
    def audit() -> Any:
        rows: list[dict[str, Any]] = []
        charts, erro = None, None
        if request.args:
            try:
                _admit("query", _filters())
                rows, charts = _records(200), _charts(g.rt, _filters())
            except GuaritaError as exc:
                erro = exc.for_user or str(exc)
        return render_template("auditoria.html", registros=rows, filtros=request.args,
                               graficos=charts, escopo=_scope(), erro=erro,
                               categorias=sorted(g.rt.policy.category_labels))

    @app.get("/equipe")
    @page(*AUDITORS, "chefia")
    def team() -> Any:
        """Art. 19: the violations the policy counts, per person and per unit (the person's
        immediate chief), over the last 7 days or, asked for, 30 (a chief sees their own
        staff; auditors and IT everyone), in attempts with the records behind each, counted
        as the CLI and the digests count them."""
        days, rows = _team()
        n = g.rt.policy.notify
        units = violations.by_unit(rows, chief_of(g.rt.directory))
        scope = _scope()
        notes = explanations.of_people(state(), None if scope is None else frozenset(scope))
        return render_template("equipe.html", violacoes=rows, unidades=units, regras=n.rules,
                               janela=int(n.window // 60), escopo=scope, dias=days,
                               explicacoes=notes)

    @app.get("/equipe.csv")
    @page(*AUDITORS, "chefia")
    def team_csv() -> Any:
        """The Violações table as CSV: one row per attempt, with the records behind it."""
        tz = g.rt.policy.calendar.tz
        rows = [{"usuario": a.user, "site": a.host, "motivo": a.rule,
                 "primeiro": local_time(a.first, tz), "ultimo": local_time(a.last, tz),
                 "registros": a.records, "referencias": " ".join(a.refs)}
                for p in _team()[1] for a in p["detail"]]
        return csv_download(rows, ["usuario", "site", "motivo", "primeiro", "ultimo",
                                   "registros", "referencias"], "violacoes.csv")

    @app.get("/auditoria.csv")
    @page(*AUDITORS, "chefia")
    def audit_csv() -> Any:
        try:
            _admit("query", _filters())
        except GuaritaError as exc:
            return form_error(exc)
        tz = g.rt.policy.calendar.tz
        return csv_download(({**r, "ts": local_time(r["ts"], tz)} for r in _records(100_000)),
                            AUDIT_COLUMNS, "auditoria.csv")


def day_start(text: str | None, tz: Any, field: str, next_day: bool = False) -> float | None:
    """The start of a local day given as AAAA-MM-DD (of the next day, for an inclusive end)."""
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(field, "use uma data AAAA-MM-DD") from None
    if next_day:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(0), tz).timestamp()


def _charts(rt: Runtime, f: query.Filters) -> dict[str, Any] | None:
    """Requests and blocks per day, and the top categories, sites and users, for the page's
    own SVG bars (no script, no CDN: the console works on an offline network)."""
    conn = query.open_readonly(rt.policy.paths)
    if conn is None:
        return None
    # a window the indexes answer quickly on a large log: 30 days of one person or machine
    # (hundreds of records a day), 7 days of one site (a popular site is visited by
    # everyone: a month of it is a million records), the last 24 hours of everything
    person = f.user or f.ip or f.ref or f.users is not None
    days, label = ((30, "últimos 30 dias") if person else (7, "últimos 7 dias") if f.host
                   else (1, "últimas 24 horas"))
    f = dataclasses.replace(f, since=max(f.since or 0, time.time() - days * 86400))
    try:
        return {"janela": label,
                "dias": query.per_day(conn, f, rt.policy.calendar.tz),
                "categorias": query.report(conn, f, "category", 8),
                "sites": query.report(conn, f, "host", 8),
                "usuarios": query.report(conn, f, "user", 8)}
    finally:
        conn.close()
