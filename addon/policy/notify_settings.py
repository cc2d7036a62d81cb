"""The policy's `notifications` and `violations` sections: who is told what (Art. 19), validated.

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
from typing import Any, Literal

from addon.policy.reader import Reader

RECIPIENTS = ("user", "chief", "director_general", "deputy_attorney_general", "inspector_general")
OFFICES = RECIPIENTS[2:]  # fixed addresses in the policy; user and chief come from the directory
Period = Literal["daily", "weekly"]


@dataclass(frozen=True)
class ViolationRule:
    """Refusals that count as one kind of violation; `attempts` of them in a digest period."""

    name: str
    rules: frozenset[str]  # decision rules of the audit log (category.blocked, malicious)
    categories: frozenset[str] = frozenset()  # empty: any category
    attempts: int = 1
    severity: str = "media"
    propose_block: bool = False  # the IT digest proposes an account block, for a person to confirm

    def counts(self, rule: str, categories: list[str]) -> bool:
        return rule in self.rules and (not self.categories or bool(self.categories & set(categories)))


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    starttls: bool = False
    username_env: str | None = None
    password_env: str | None = None
    sender: str = "guarita <guarita@localhost>"
    timeout: float = 10.0


@dataclass(frozen=True)
class NotifySettings:
    enabled: bool = False
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    committee: tuple[str, ...] = ()  # new requests and appeals (the committee, IT)
    offices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    digest: Period = "daily"
    digest_hour: int = 8  # local hour after which the last period's digest goes out
    per_recipient_per_hour: int = 20
    expiry_warning_hours: float = 24.0
    max_tries: int = 12  # ~ two days of backing off, then `failed` (visible in the outbox)
    rules: tuple[ViolationRule, ...] = ()
    severities: dict[str, tuple[str, ...]] = field(default_factory=dict)


DEFAULT_RULES = (
    ViolationRule("conteudo_proibido", frozenset({"category.blocked"}), attempts=3,
                  severity="media"),
    ViolationRule("site_malicioso", frozenset({"malicious"}), attempts=1, severity="alta",
                  propose_block=False),
)
DEFAULT_SEVERITIES = {
    "baixa": ("user",),
    "media": ("user", "chief"),
    "alta": ("user", "chief", "director_general"),
    "grave": RECIPIENTS,
}


def _addresses(r: Reader, value: Any, where: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(a, str) and "@" in a for a in items):
        raise r.fail(where, "must be an e-mail address or a list of them")
    return tuple(items)


def parse_notify(r: Reader, tree: dict[str, Any]) -> NotifySettings:
    n = r.get(tree, "notifications", dict, "", None)
    v = r.get(tree, "violations", dict, "", {})
    severities = {str(k): tuple(vs) for k, vs in
                  r.get(v, "severities", dict, "violations", DEFAULT_SEVERITIES).items()}
    for name, who in severities.items():
        bad = [w for w in who if w not in RECIPIENTS]
        if bad:
            raise r.fail(f"violations.severities.{name}",
                         f"unknown recipient {bad[0]!r} (choose from {', '.join(RECIPIENTS)})")
    rules: list[ViolationRule] = []
    raw_rules = r.get(v, "rules", list, "violations", None)
    for i, spec in enumerate(raw_rules or []):
        where = f"violations.rules[{i}]"
        if not isinstance(spec, dict):
            raise r.fail(where, "must be a mapping with name, rules and severity")
        rule = ViolationRule(
            name=r.get(spec, "name", str, where),
            rules=frozenset(r.get(spec, "rules", list, where, ["category.blocked"])),
            categories=frozenset(r.get(spec, "categories", list, where, [])),
            attempts=r.get(spec, "attempts", int, where, 1),
            severity=r.get(spec, "severity", str, where, "media"),
            propose_block=r.get(spec, "propose_block", bool, where, False),
        )
        if rule.attempts < 1:
            raise r.fail(f"{where}.attempts", "must be at least 1")
        if rule.severity not in severities:
            raise r.fail(f"{where}.severity", f"unknown severity {rule.severity!r} "
                                              f"(defined: {', '.join(severities)})")
        rules.append(rule)
    if raw_rules is None:
        rules = [x for x in DEFAULT_RULES if x.severity in severities]
    if n is None:
        return NotifySettings(rules=tuple(rules), severities=severities)
    w = "notifications"
    s = r.get(n, "smtp", dict, w, {})
    smtp = SmtpSettings(
        host=r.get(s, "host", str, f"{w}.smtp", "localhost"),
        port=r.get(s, "port", int, f"{w}.smtp", 25),
        starttls=r.get(s, "starttls", bool, f"{w}.smtp", False),
        username_env=r.get(s, "username_env", str, f"{w}.smtp", None),
        password_env=r.get(s, "password_env", str, f"{w}.smtp", None),
        sender=r.get(s, "sender", str, f"{w}.smtp", "guarita <guarita@localhost>"),
        timeout=float(r.get(s, "timeout_seconds", (int, float), f"{w}.smtp", 10)),
    )
    offices = {}
    for office, addr in r.get(n, "offices", dict, w, {}).items():
        if office not in OFFICES:
            raise r.fail(f"{w}.offices.{office}", f"must be one of {', '.join(OFFICES)}")
        offices[str(office)] = _addresses(r, addr, f"{w}.offices.{office}")
    digest = r.get(n, "digest", str, w, "daily")
    if digest not in ("daily", "weekly"):
        raise r.fail(f"{w}.digest", "must be daily or weekly")
    hour = r.get(n, "digest_hour", int, w, 8)
    if not 0 <= hour <= 23:
        raise r.fail(f"{w}.digest_hour", "must be 0 to 23")
    limit = r.get(n, "per_recipient_per_hour", int, w, 20)
    if limit < 1:
        raise r.fail(f"{w}.per_recipient_per_hour", "must be at least 1")
    return NotifySettings(
        enabled=r.get(n, "enabled", bool, w, True),
        smtp=smtp,
        committee=_addresses(r, r.get(n, "committee", (str, list), w, []), f"{w}.committee")
        if n.get("committee") else (),
        offices=offices,
        digest=digest,
        digest_hour=hour,
        per_recipient_per_hour=limit,
        expiry_warning_hours=float(r.get(n, "expiry_warning_hours", (int, float), w, 24)),
        max_tries=r.get(n, "max_tries", int, w, 12),
        rules=tuple(rules),
        severities=severities,
    )
