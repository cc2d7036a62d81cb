"""A declared policy -> the frozen value objects the decision core reads on every request.

Everything derived once per (re)load is derived here: group names case-folded (directories
disagree on case; names don't), logins lower-cased, paths resolved against the policy's
folder, loopback added to the forbidden destinations (never optional).
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from addon.policy.clock import BusinessCalendar
from addon.policy.destinations import LOOPBACK
from addon.policy.document import PolicyDocument
from addon.policy.holiday_table import HolidayTable
from addon.policy.model import (
    AuthLimits,
    Level,
    LogonSource,
    MachineLevel,
    Platform,
    Policy,
    SpecialGroup,
    StaticUser,
)
from addon.policy.notify_settings import DEFAULT_RULES, NotifySettings, ViolationRule
from addon.policy.paths import Paths
from addon.settings.deployment import NodeSettings

WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


def calendar_of(doc: PolicyDocument, table: HolidayTable | None = None) -> BusinessCalendar:
    bh, hol = doc.business_hours, doc.holidays
    return BusinessCalendar(ZoneInfo(doc.timezone), bh.start, bh.end,
                            frozenset(WEEKDAYS[d] for d in bh.weekdays), hol.country,
                            hol.subdivision, frozenset(hol.optional), frozenset(hol.extra_dates),
                            table)


def _paths(doc: PolicyDocument, node: NodeSettings, source: Path, workdir: Path) -> Paths:
    base = source.resolve().parent
    # state named in the policy -> against the policy's folder (a policy in /etc/guarita
    # keeps its state wherever the CLI is run from); not named -> ./var, where guarita runs
    state_dir = base / doc.paths.state if doc.paths.state else workdir / "var"
    return Paths(
        category_dirs=tuple((base / d).resolve() for d in doc.paths.categories or ("../categories",)),
        imported_dir=base / doc.paths.imported if doc.paths.imported else state_dir / "lists",
        state_dir=state_dir,
        database=node.storage.database,
    )


def _notify(doc: PolicyDocument, node: NodeSettings) -> NotifySettings:
    v = doc.violations
    if v.rules is None:
        rules = tuple(r for r in DEFAULT_RULES if r.severity in v.severities)
    else:
        rules = tuple(ViolationRule(r.name, frozenset(r.rules), frozenset(r.categories),
                                    r.attempts, r.severity, r.propose_block) for r in v.rules)
    severities: dict[str, tuple[str, ...]] = {k: tuple(w) for k, w in v.severities.items()}
    n = doc.notifications
    if n is None:
        return NotifySettings(rules=rules, severities=severities, smtp=node.smtp,
                              window=v.window_minutes * 60.0)
    return NotifySettings(
        enabled=n.enabled, smtp=node.smtp, committee=n.committee,
        offices={str(k): a for k, a in n.offices.items()},
        digest=n.digest, digest_hour=n.digest_hour,
        per_recipient_per_hour=n.per_recipient_per_hour,
        expiry_warning_hours=n.expiry_warning_hours, max_tries=n.max_tries, rules=rules,
        severities=severities, window=v.window_minutes * 60.0,
    )


def build_policy(doc: PolicyDocument, node: NodeSettings, source: Path, digest: str,
                 workdir: Path, holidays: HolidayTable | None = None) -> Policy:
    d = doc.directory
    auth = d.authentication
    forbidden = list(doc.destinations.forbidden)
    forbidden.extend(n for n in LOOPBACK if n not in forbidden)
    return Policy(
        source=source,
        digest=digest,
        levels={n: Level(n, spec.name,
                         frozenset(spec.allow_only) if spec.allow_only is not None else None,
                         frozenset(spec.outside_business_hours_only), frozenset(spec.justify))
                for n, spec in sorted(doc.levels.items())},
        category_labels=dict(doc.categories),
        blocked=frozenset(doc.blocked),
        malicious=frozenset(doc.malicious),
        special_groups={name: SpecialGroup(name, g.label, frozenset(g.categories))
                        for name, g in doc.special_groups.items()},
        homologated=frozenset(doc.webconference.homologated),
        platforms={name.lower(): Platform(name.lower(), p.label, p.category)
                   for name, p in doc.webconference.platforms.items()},
        calendar=calendar_of(doc, holidays),
        group_levels={g.casefold(): lv for g, lv in d.groups.items()},
        group_special={g.casefold(): frozenset(names) for g, names in d.special_groups.items()},
        default_level=d.default_level,
        users={login.lower(): StaticUser(login.lower(), frozenset(g.casefold() for g in u.groups),
                                         u.password, u.email, u.chief.lower() if u.chief else None)
               for login, u in d.users.items()},
        ldap=node.ldap,
        directory_kind=d.kind,
        auth=AuthLimits(auth.cache_seconds, auth.max_failures, auth.lockout_seconds,
                        node.negotiate),
        machines=tuple(MachineLevel(m.network, m.level, m.note) for m in doc.machines),
        paths=_paths(doc, node, source, workdir),
        event_notice_business_days=doc.webconference.notice_business_days,
        event_margin_minutes=doc.webconference.margin_minutes,
        release_max_days=doc.releases.max_days,
        release_max_extension_days=doc.releases.max_extension_days,
        justify_minutes=doc.justification.minutes,
        justify_per_day=doc.justification.per_day,
        justify_min_length=doc.justification.min_length,
        organisation=doc.organisation,
        help_text=doc.help,
        forbidden_networks=tuple(forbidden),
        logon_sources=tuple(LogonSource(name, s.scope, s.token_env, s.token_file)
                            for name, s in doc.logon.sources.items()),
        logon_conflicts=doc.logon.conflicts,
        ip_literal_min_level=doc.ip_literals.min_level,
        ip_literal_allow=doc.ip_literals.allow,
        notify=_notify(doc, node),
        audit_keep_query=doc.audit.keep_query,
        audit_retention_days=doc.audit.retention_days,
        audit_witness=(source.resolve().parent / doc.audit.witness) if doc.audit.witness else None,
        audit_email_checkpoints=doc.audit.email_checkpoints,
        audit_require_case=doc.audit.require_case_for_person,
        privacy_notice=doc.audit.privacy_notice.strip(),
        audit_forward=node.forward,
        dns_refuse=frozenset(doc.dns.refuse),
        dns_record=doc.dns.record,
        dns_safesearch=frozenset(doc.dns.safesearch),
        console_roles={role: frozenset(g.casefold() for g in groups)
                       for role, groups in doc.console.roles.items()},
        console_url=doc.console.url or "",
        cluster_nodes=node.cluster.nodes,
        direct_domains=node.cluster.direct_domains,
    )
