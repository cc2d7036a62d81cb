"""What the add-ons tell each other about a flow, through `flow.metadata`.

`identify` leaves an `Identified` under IDENTIFIED; `enforce` leaves a
`Verdict` under VERDICT, and refuses whenever IDENTIFIED is missing or says
so, so a failure anywhere before it ends in a refusal, never in a pass. Every
later add-on (streaming, tunnels, the audit log, the request form) acts only on
a Verdict. A Verdict is made once and never edited.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from addon.policy.model import Decision, Identity

IDENTIFIED = "guarita.identified"
VERDICT = "guarita.verdict"
BODY_BYTES = "guarita.body_bytes"  # [request bytes, response bytes] counted while streaming
RECORDED = "guarita.recorded"
TRANSPARENT = "guarita.transparent"  # came through the transparent listener (a redirect)

PORTAL_RULE = "portal"  # the proxy's own pages (the request form): answered, never forwarded
PORTAL = Decision("allow", 0, (), "Página do próprio filtro", PORTAL_RULE)


def refusal(rule: str, reason: str, level: int = 0) -> Decision:
    """A refusal that no category decided (malformed request, identity, internal error)."""
    return Decision("block", level, (), reason, rule)


def seen_transparently(identity: Identity | None) -> Identity:
    """The identity as a redirected client's records show it: its source `transparent`
    (found by the machine's session, or nobody's; the rule says which)."""
    return dataclasses.replace(identity or Identity(None), source="transparent")


INTERNAL_ERROR = refusal("internal.error", "Erro interno do filtro: acesso bloqueado por segurança")


@dataclass(frozen=True)
class Identified:
    """Who is asking, or why nobody could be: exactly one of identity and refusal is set."""

    identity: Identity | None
    refusal: Decision | None = None
    challenge: bool = False  # answer 407 with a challenge (no credentials and no session)


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    identity: Identity | None
    ref: str
    started: float  # POSIX seconds when the request arrived
    client_ip: str
    host: str  # canonical host that decided, or the raw one as sent if it had none
    status: int = 0  # the status a refusal is answered with; 0 when allowed
    challenge: bool = False

    @property
    def allowed(self) -> bool:
        return self.decision.allowed

    @property
    def portal(self) -> bool:
        return self.decision.rule == PORTAL_RULE


@dataclass
class ConnectionNotes:
    """What one add-on learned of a client connection for another, by client id.

    `refused`: refusals made after a flow's verdict (`destinations`). `pages`: blocked
    CONNECTs accepted only to show the block page inside (`enforce` -> `tunnels`).
    """

    refused: dict[str, Decision] = field(default_factory=dict)
    pages: dict[str, Verdict] = field(default_factory=dict)
    # page tunnels a justification opened (`requestform`): from then on each request inside
    # is decided on its own and may reach the site, as with --intercept (`tunnels`)
    opened: set[str] = field(default_factory=set)
    # client address -> when it last asked the DNS companion (`dnsguard` -> the self-test)
    dns_seen: dict[str, float] = field(default_factory=dict)

    def take(self, client_id: str) -> Decision | None:
        return self.refused.pop(client_id, None)
