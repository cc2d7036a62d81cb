"""Justified access (Art. 10 §1) as every front door opens and revokes it: the block page's
form (HTTP and HTTPS), the console and the command line call these, never the state module.

A door hands over who asks and what they wrote; the decision that makes a site justifiable
is taken here again, by the engine, for that person at that moment: a form cannot claim
a site is justifiable, nor open another than the one it names.
"""

from __future__ import annotations

import time

from addon.policy.model import Identity
from addon.runtime import Runtime
from addon.service import inputs
from addon.state import justifications
from addon.state.justifications import JustificationError, Opened
from addon.store.seam import Connection


def open_site(conn: Connection, rt: Runtime, identity: Identity, site: str,
              reason: str, client_ip: str | None = None, ref: str | None = None,
              now: float | None = None) -> Opened:
    """Open `site` to `identity` for the policy's minutes, if their justification may."""
    now = time.time() if now is None else now
    if not identity.user:
        raise JustificationError("a justification needs an identified user",
                                 "Só um usuário identificado pode justificar um acesso.")
    host = inputs.site(site)
    decision = rt.decide(host, identity, now, client_ip)
    if decision.allowed:
        raise JustificationError(f"{host} is already open to {identity.user}",
                                 "Este site já está liberado para você.")
    return justifications.justify(conn, rt.policy, identity.user, host, decision, reason,
                                  client_ip=client_ip, ref=inputs.block_page_ref(ref), now=now)


def revoke(conn: Connection, jid: int, operator: str, reason: str,
           violation: bool = False) -> None:
    """The chief (or IT) ends a justification; `violation` counts it as one, with a reason."""
    justifications.revoke(conn, jid, operator, reason, violation)
