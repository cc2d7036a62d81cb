"""Console pages for the committee and IT: why a site is blocked for a person, level-4
assignments and blocks, and which lists classify a site (with IT's edits)."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, g, render_template, request

from addon.console.auth import User
from addon.console.guards import REVIEWERS, page, runtime, state
from addon.errors import GuaritaError, HostError
from addon.lists import edits
from addon.policy.hosts import host_of_url, normalize_host
from addon.runtime import Runtime
from addon.state import blocks, releases


def register(app: Flask) -> None:
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
            rt = runtime()  # the recompiled index
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
