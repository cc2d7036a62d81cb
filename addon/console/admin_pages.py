"""Console pages for the committee and IT: why a site is blocked for a person, level-4
assignments and blocks (IT blocks, unblocks and assigns level 4 here, through the same
service as the command line), and which lists classify a site (with IT's edits)."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, g, redirect, render_template, request, url_for

from addon.console.auth import User
from addon.console.guards import REVIEWERS, form_error, page, readable, runtime, state
from addon.errors import GuaritaError, HostError
from addon.lists import edits
from addon.policy.hosts import host_of_url, normalize_host
from addon.runtime import Runtime
from addon.service import admin
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
                               bloqueios=blocks.listing(conn, include_lifted=True)[-100:],
                               aviso=request.args.get("aviso"))

    @app.post("/bloqueios")
    @page("ti")
    def block() -> Any:
        """IT blocks an account or a machine (Art. 9 §4 I, Art. 11 §7), with its reason."""
        user: User = g.user
        try:
            bid, unchecked = admin.block(state(), g.rt.directory, user.login,
                                         request.form.to_dict())
        except GuaritaError as exc:
            return form_error(exc)
        aviso = f"Bloqueio nº {bid} registrado: o proxy o aplica em segundos."
        if unchecked is not None:
            aviso += " O diretório não respondeu: o login não foi conferido."
        return redirect(url_for("in_force", aviso=aviso))

    @app.post("/bloqueios/desbloquear")
    @page("ti")
    def unblock() -> Any:
        """Lifting a block names who authorised it (Art. 9 §4 I)."""
        user: User = g.user
        try:
            admin.unblock(state(), user.login, request.form.to_dict())
        except GuaritaError as exc:
            return form_error(exc)
        return redirect(url_for("in_force", aviso="Desbloqueio registrado."))

    @app.post("/nivel4")
    @page("ti")
    def level4() -> Any:
        """Level 4 by the committee's decision, always with an end (Art. 9 §4 V)."""
        user: User = g.user
        try:
            rid, until, _ = admin.grant_level4(state(), g.rt.policy, g.rt.directory, user.login,
                                               request.form.to_dict())
        except GuaritaError as exc:
            return form_error(exc)
        when = readable(until, g.rt.policy.calendar.tz)
        return redirect(url_for("in_force", aviso=f"Nível 4 nº {rid} em vigor até {when}."))

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
