"""The console's first page: what each role comes for, at a glance (the committee's
pending requests, the auditors' last 24 hours, a person's own requests)."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, g, render_template

from addon.audit import query
from addon.console.auth import User
from addon.console.guards import AUDITORS, REVIEWERS, page, state
from addon.state import releases
from addon.state.requests import PENDING


def register(app: Flask) -> None:
    @app.get("/privacidade")
    def privacy() -> Any:
        """The policy's privacy notice (LGPD Art. 9), for anyone, signed in or not: the
        block page links the proxy's copy of the same text."""
        notice = g.rt.policy.privacy_notice
        paragraphs = [" ".join(p.split()) for p in notice.split("\n\n") if p.strip()]
        return render_template("privacidade.html", paragrafos=paragraphs)

    @app.get("/")
    @page()
    def home() -> Any:
        user: User = g.user
        conn = state()
        rows = releases.listing(conn)
        mine = [r for r in rows if r["requested_by"] == user.login]
        summary: dict[str, Any] = {
            "meus_pendentes": sum(r["status"] in PENDING for r in mine),
            "meus_ativos": sum(r["status"] == "active" for r in mine),
        }
        if user.has(*REVIEWERS):
            summary["pendentes"] = sum(r["status"] in PENDING for r in rows)
            summary["recursos"] = sum(r["status"] == "appealed" for r in rows)
        if user.has(*AUDITORS):
            summary["dia"] = _last_day(g.rt.policy.paths, g.rt.policy.calendar.tz)
        return render_template("inicio.html", resumo=summary)


def _last_day(paths: Any, tz: Any) -> dict[str, int]:
    """Requests and refusals of the last 24 hours (the time index answers it at once)."""
    conn = query.open_readonly(paths)
    if conn is None:
        return {"requests": 0, "blocked": 0}
    try:
        days = query.per_day(conn, query.Filters(since=time.time() - 86400), tz, days=2)
    finally:
        conn.close()
    return {"requests": sum(d["requests"] for d in days),
            "blocked": sum(d["blocked"] for d in days)}
