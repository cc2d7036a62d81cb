"""Frozen value objects of the policy core. Built once per (re)load, shared read-only."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from addon.policy.clock import BusinessCalendar
from addon.policy.hosts import within
from addon.policy.notify_settings import NotifySettings
from addon.policy.paths import Paths
from addon.settings.deployment import LdapSettings, NegotiateSettings
from addon.settings.forward import ForwardTarget

Action = Literal["allow", "block", "error"]  # error: allowed, but the site failed
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Level:
    """One access level of Art. 9 §4. Which categories it reaches is configuration."""

    number: int
    name: str
    allow_only: frozenset[str] | None = None  # level 1: allow-list; None = everything not blocked
    outside_business_hours_only: frozenset[str] = frozenset()  # level 2: webmail, social, shopping
    justify: frozenset[str] = frozenset()  # blocked, but a justification opens a site (§1)


@dataclass(frozen=True)
class SpecialGroup:
    """A special access group (Art. 9 §5–6): membership grants its categories."""

    name: str
    label: str
    categories: frozenset[str]


@dataclass(frozen=True)
class Platform:
    """A web-conference platform other than the homologated one (seed 000)."""

    name: str
    label: str
    category: str


@dataclass(frozen=True)
class StaticUser:
    """A user of the embedded directory (no LDAP server needed)."""

    login: str
    groups: frozenset[str]
    password_hash: str | None = None
    email: str | None = None
    chief: str | None = None  # the immediate chief's login (Art. 19 II), as LDAP's `manager`


@dataclass(frozen=True)
class LogonSource:
    """Who may announce login sessions, and for which addresses.

    `collector` (the domain controller's logon-event forwarder) may announce any login at
    any address; `workstation` (a logon script) only at the address its call comes from.
    The token lives in an environment variable or a file, never in the policy.
    """

    name: str
    scope: Literal["collector", "workstation"]
    token_env: str | None = None
    token_file: str | None = None


@dataclass(frozen=True)
class MachineLevel:
    network: IPNetwork
    level: int
    note: str = ""


@dataclass(frozen=True)
class AuthLimits:
    """Proxy authentication: how long a verified password is trusted, and the brute-force brake."""

    cache_seconds: float = 300.0
    max_failures: int = 5
    lockout_seconds: float = 300.0
    negotiate: NegotiateSettings | None = None


@dataclass(frozen=True)
class Policy:
    source: Path
    levels: dict[int, Level]
    category_labels: dict[str, str]
    blocked: frozenset[str]
    malicious: frozenset[str]
    special_groups: dict[str, SpecialGroup]
    homologated: frozenset[str]
    platforms: dict[str, Platform]
    calendar: BusinessCalendar
    group_levels: dict[str, int]
    group_special: dict[str, frozenset[str]]
    default_level: int
    users: dict[str, StaticUser]
    ldap: LdapSettings | None
    auth: AuthLimits
    machines: tuple[MachineLevel, ...]
    paths: Paths
    event_notice_business_days: int = 5
    event_margin_minutes: int = 30
    release_max_days: int = 7
    release_max_extension_days: int = 7
    # Art. 10 §1: a justification opens one site for this long; so many a day per person
    justify_minutes: int = 60
    justify_per_day: int = 5
    justify_min_length: int = 20
    organisation: str = ""
    help_text: str = ""
    forbidden_networks: tuple[IPNetwork, ...] = ()
    # Art. 10 VII: an address no list classifies is reached by IP only from this level up,
    # or inside one of these networks (5: never)
    logon_sources: tuple[LogonSource, ...] = ()
    # who wins when two sources announce different logins for one address: "collector"
    # (a collector's live session stands against a workstation's claim) or "newest"
    logon_conflicts: str = "collector"
    ip_literal_min_level: int = 3
    ip_literal_allow: tuple[IPNetwork, ...] = ()
    notify: NotifySettings = field(default_factory=NotifySettings)  # Art. 19, releases
    audit_keep_query: bool = False  # store query strings (they carry tokens, personal data)
    audit_retention_days: int | None = None  # None: kept until pruned by hand
    audit_witness: Path | None = None  # where checkpoints are appended outside the database
    audit_email_checkpoints: bool = False  # and sent to the committee with each digest
    audit_require_case: bool = False  # a case reference for questions about a named person
    privacy_notice: str = ""  # the text linked from the block page and the console
    audit_forward: tuple[ForwardTarget, ...] = ()  # the SIEMs the log streams to (addon/forward)
    dns_refuse: frozenset[str] = frozenset()  # categories the DNS companion answers NXDOMAIN
    dns_record: str = "all"  # or "refused": only refused questions in the audit log
    dns_safesearch: frozenset[int] = frozenset()  # levels whose searches are SafeSearch
    # proxy nodes, in failover order, and domains reached directly (`guarita pac`)
    cluster_nodes: tuple[str, ...] = ()
    direct_domains: tuple[str, ...] = ()
    # console roles (ti, comite, auditoria, chefia) -> the directory groups that hold them
    console_roles: dict[str, frozenset[str]] = field(default_factory=dict)
    console_url: str = ""  # the console's address, linked from the block page ("" : none)
    # SHA-256 of the policy file's text: nodes that run different policies show it (a metric)
    digest: str = ""
    directory_kind: Literal["static", "ldap"] = "static"  # which: addon.identity.registry

    def roles_of(self, groups: frozenset[str]) -> frozenset[str]:
        """The console roles a user's groups give (none: an end user)."""
        return frozenset(r for r, gs in self.console_roles.items() if gs & groups)

    def ip_literal_allowed(self, host: str, level: int) -> bool:
        """For an unlisted IP-literal host (canonical): may this level reach it directly?"""
        if level >= self.ip_literal_min_level:
            return True
        addr = ipaddress.ip_address(host)
        return any(addr.version == n.version and addr in n for n in self.ip_literal_allow)
    # decide()'s memo: a reload builds a new Policy, so it never outlives its rules.
    decision_cache: dict[object, Decision] = field(default_factory=dict, compare=False, repr=False)

    def label(self, category: str) -> str:
        return self.category_labels.get(category, category)

    def level_for_groups(self, groups: frozenset[str]) -> int:
        """Highest level of the mapped groups; the default for a user in none."""
        levels = [self.group_levels[g] for g in groups if g in self.group_levels]
        return max(levels) if levels else self.default_level

    def special_for_groups(self, groups: frozenset[str]) -> frozenset[str]:
        out: set[str] = set()
        for g in groups:
            out |= self.group_special.get(g, frozenset())
        return frozenset(out)

    def machine_level(self, ip: str | None) -> int | None:
        """Level assigned to an address by the most specific configured network."""
        if not ip or not self.machines:
            return None
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return None
        best: MachineLevel | None = None
        for m in self.machines:
            if addr.version == m.network.version and addr in m.network:
                if best is None or m.network.prefixlen > best.network.prefixlen:
                    best = m
        return best.level if best else None

    def platform_of_category(self, category: str) -> Platform | None:
        for p in self.platforms.values():
            if p.category == category:
                return p
        return None


@dataclass(frozen=True)
class Identity:
    """Who is asking, as the identity layer resolved it.

    `level4_until` is the end (POSIX seconds) of a level-4 assignment: level 4 is
    always time-limited (Art. 9 §4 V), so there is no way to say "forever".
    """

    user: str | None
    groups: frozenset[str] = frozenset()
    base_level: int = 0
    special_groups: frozenset[str] = frozenset()
    level4_until: float | None = None
    level4_release: int | None = None
    machine_level: int | None = None
    blocked_user: str | None = None
    blocked_machine: str | None = None
    source: str = "none"  # "none" = nobody logged in (Art. 9 §4 I)


@dataclass(frozen=True)
class Release:
    """An active or future widening of access (Art. 9 §10–11, seed 000).

    `kind` is "domain" (obj = canonical host, covers subdomains), "category",
    "event" (obj = the platform's category, a one-event window), or "justified" (a
    person's own justification, Art. 10 §1: obj = the site, covers subdomains; `id` is the
    justification's number, not a release's).
    """

    id: int
    kind: Literal["domain", "category", "event", "justified"]
    target_kind: Literal["user", "group", "machine"]
    target: str
    obj: str
    start: float
    end: float
    analysis_ref: str | None = None

    def applies_to(self, identity: Identity, client_ip: str | None) -> bool:
        if self.target_kind == "user":
            return identity.user == self.target
        if self.target_kind == "group":
            return self.target in identity.groups  # both case-folded when loaded
        return client_ip == self.target

    def covers(self, host: str, categories: tuple[str, ...]) -> bool:
        if self.kind in ("domain", "justified"):
            return within(host, self.obj)
        return self.obj in categories


@dataclass(frozen=True)
class Decision:
    action: Action
    level: int
    categories: tuple[str, ...]
    reason: str
    rule: str
    matched: str | None = None
    release_id: int | None = None  # rule `justified`: the justification's number
    justifiable: bool = False  # blocked, and a justification would open the site (Art. 10 §1)

    @property
    def allowed(self) -> bool:
        return self.action == "allow"
