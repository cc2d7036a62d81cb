"""The self-test page (`http://<portal>/teste`, linked from every block page): how the
filter sees this machine, for the person at it and for IT on the phone with them.

Who is logged in here and how that was known, the level and what it comes from, this
machine's address as the proxy sees it, the node answering, and whether this machine asks
the institution's DNS companion (a machine that does not can reach resolvers the filter
never sees: Art. 18 X). Nothing here is secret to the person it describes.
"""

from __future__ import annotations

import datetime as dt
import socket
import time

from mitmproxy import http

from addon.policy.decide import effective_level
from addon.proxy.blockpage import simple_page
from addon.proxy.verdict import Verdict
from addon.runtime import Runtime

SOURCES: dict[str | None, str] = {
    "session": "sessão de logon desta máquina", "basic": "usuário e senha do proxy",
    "kerberos": "Kerberos (login do Windows)", "given": "informado", None: "ninguém"}
DNS_RECENT = 600.0  # seconds: a machine that uses the companion asks it that often


def page(rt: Runtime, v: Verdict, dns_seen: float | None, portal: str,
         now: float | None = None) -> http.Response:
    now = time.time() if now is None else now
    ident = v.identity
    user = ident.user if ident else None
    source = ident.source if ident and user else None
    level = effective_level(rt.policy, ident, now) if ident else 0
    policy = rt.policy
    if dns_seen is not None and now - dns_seen < DNS_RECENT:
        when = dt.datetime.fromtimestamp(dns_seen, policy.calendar.tz).strftime("%H:%M:%S")
        dns = f"sim: a última pergunta deste computador ao DNS da instituição foi às {when}"
    else:
        dns = ("nenhuma pergunta deste computador ao DNS da instituição nos últimos 10 minutos "
               "(neste nó): confira com a TI se o DNS dele é o da instituição")
    facts = (
        f"Usuário: {user or 'ninguém identificado'} ({SOURCES.get(source, source)})",
        f"Nível de acesso: {level} ({policy.levels[level].name})",
        f"Endereço deste computador visto pelo filtro: {v.client_ip or '-'}",
        f"Nó do filtro que respondeu: {socket.gethostname()}",
        f"DNS da instituição: {dns}",
        f"Política em vigor: {policy.digest[:12]}",
    )
    return simple_page(200, "Como este computador é visto pelo filtro", facts[0], portal,
                       more=facts[1:])
