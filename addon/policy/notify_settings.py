"""Who is told what (Art. 19): the `notifications` and `violations` sections as value objects.

Art. 19 lets IT tell, by the violation's severity, the user (I), the immediate chief (II),
the Director-General (III), the Deputy Attorney-General for administrative affairs (IV)
and the Inspector-General (V). Which refusals are violations, and how many make one, is
the policy's to say: the defaults below count attempts on the Art. 10 categories and on
malicious sites, and leave out on purpose the refusals that are rules of use rather than
violations (time-of-day blocks such as social networks in office hours, Art. 9 §6;
web-conference platforms, whose remedy is an event request, seed 000).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from addon.settings.deployment import SmtpSettings

Period = Literal["daily", "weekly"]


@dataclass(frozen=True)
class ViolationRule:
    """Refusals that count as one kind of violation; `attempts` of them (attempts, not
    records: addon/audit/violations.py) in a digest period."""

    name: str
    rules: frozenset[str]  # decision rules of the audit log (category.blocked, malicious)
    categories: frozenset[str] = frozenset()  # empty: any category
    attempts: int = 1
    severity: str = "media"
    propose_block: bool = False  # the IT digest proposes an account block, for a person to confirm

    def counts(self, rule: str, categories: list[str]) -> bool:
        return rule in self.rules and (not self.categories or bool(self.categories & set(categories)))


@dataclass(frozen=True)
class NotifySettings:
    enabled: bool = False
    smtp: SmtpSettings = SmtpSettings()  # frozen: one shared default is safe
    committee: tuple[str, ...] = ()  # new requests and appeals (the committee, IT)
    offices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    digest: Period = "daily"
    digest_hour: int = 8  # local hour after which the last period's digest goes out
    per_recipient_per_hour: int = 20
    expiry_warning_hours: float = 24.0
    max_tries: int = 12  # ~ two days of backing off, then `failed` (visible in the outbox)
    rules: tuple[ViolationRule, ...] = ()
    severities: dict[str, tuple[str, ...]] = field(default_factory=dict)
    window: float = 600.0  # seconds: one attempt per person and site (addon/audit/violations.py)


DEFAULT_RULES = (
    ViolationRule("conteudo_proibido", frozenset({"category.blocked"}), attempts=3,
                  severity="media"),
    ViolationRule("site_malicioso", frozenset({"malicious"}), attempts=1, severity="alta",
                  propose_block=False),
)
