"""decide(): the whole policy of Ordem de Serviço 03/2018 and seed 000 as one pure function.

Everything it needs comes in as arguments (the classified host, the identity,
the time, the active releases), so the proxy, `guarita check` and the tests all
ask the same question the same way. Reasons are pt-BR sentences an IT person
can read out to a user; rules are stable identifiers for audit and tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from addon.policy.categories import Match
from addon.policy.hosts import is_ip
from addon.policy.model import Decision, Identity, Policy, Release

RULES = {
    "blocked.user": "Art. 9 §4 I, Art. 11 §7, Art. 19: account blocked by IT",
    "blocked.machine": "Art. 9 §4 I, Art. 19: machine blocked by IT",
    "level0.no_user": "Art. 9 §4 I: machine with no logged-in user",
    "level0": "Art. 9 §4 I: level 0, no internet",
    "malicious": "Art. 9 §4 V, §11: malicious site, blocked at every level",
    "release": "Art. 9 §10–11 / seed 000: an active release allows it",
    "webconf.event_required": "seed 000 items 1–5: platform only during an approved event",
    "webconf.homologated": "seed 000: Microsoft Teams is the homologated platform",
    "level4": "Art. 9 §4 V: unrestricted, time-limited",
    "ip_literal.unlisted": "Art. 10 VII: an unclassified site reached by its bare IP address",
    "category.blocked": "Art. 10: blocked category (Art. 10 §1's, with `justifiable`: a "
                        "justification opens the site)",
    "justified": "Art. 10 §1: opened by the person's own justification, for a while",
    "level1.allowlist": "Art. 9 §4 II: allow-listed category",
    "level1.not_allowlisted": "Art. 9 §4 II: level 1 reaches only allow-listed categories",
    "level2.business_hours": "Art. 9 §4 III: special categories only outside business hours",
    "special_group": "Art. 9 §5–6: special access group granted by the committee",
    "level.allowed": "Art. 9 §4 III–IV: not in a blocked category",
}


def effective_level(policy: Policy, identity: Identity, now: float) -> int:
    """User level (level 4 only while its assignment runs), capped by the machine's."""
    level = identity.base_level
    if identity.level4_until is not None and now < identity.level4_until:
        level = 4
    elif level >= 4:
        level = 3  # a level 4 with no running assignment is not a level 4 (Art. 9 §4 V)
    if identity.machine_level is not None:
        level = min(level, identity.machine_level)
    return level


def _labels(policy: Policy, cats: Sequence[str]) -> str:
    return ", ".join(policy.label(c) for c in cats)


def decide(
    policy: Policy,
    host: str,
    match: Match | None,
    identity: Identity,
    now: float,
    releases: Sequence[Release] = (),
    client_ip: str | None = None,
) -> Decision:
    """Allow or block one request to canonical `host`, classified as `match`."""
    cats = match.categories if match else ()
    matched = match.entry if match else None

    def out(action: str, level: int, reason: str, rule: str, rid: int | None = None) -> Decision:
        return Decision(action, level, cats, reason, rule, matched, rid)  # type: ignore[arg-type]

    if identity.blocked_user is not None:
        return out("block", 0, f"Conta bloqueada pela TI: {identity.blocked_user}", "blocked.user")
    if identity.blocked_machine is not None:
        return out(
            "block", 0, f"Máquina bloqueada pela TI: {identity.blocked_machine}", "blocked.machine"
        )
    if identity.source == "none":
        return out(
            "block", 0,
            "Nenhum usuário logado nesta máquina: sem acesso à internet (nível 0)",
            "level0.no_user",
        )
    level = effective_level(policy, identity, now)
    if level == 0:
        return out("block", 0, "Nível 0 (SEM ACESSO): sem acesso à internet", "level0")

    release = justified = None
    for r in releases:
        if r.start <= now < r.end and r.applies_to(identity, client_ip) and r.covers(host, cats):
            if r.kind != "justified":
                release = r
                break
            justified = justified or r

    # a release without a technical analysis never opens a malicious site (§11)
    if release is not None and (release.analysis_ref
                                or not any(c in policy.malicious for c in cats)):
        what = (f"análise técnica {release.analysis_ref}" if release.analysis_ref else
                "evento de webconferência" if release.kind == "event" else
                "liberação temporária")
        return out("allow", level, f"Liberado pela liberação #{release.id} ({what})",
                   "release", release.id)

    if match is None and is_ip(host) and not policy.ip_literal_allowed(host, level):
        # a blocked site is reachable by its address unless unlisted addresses are held back
        return out(
            "block", level,
            f"Acesso direto por endereço IP a um site não classificado: permitido só a partir "
            f"do nível {policy.ip_literal_min_level} (Ordem de Serviço 03/2018, art. 10, VII)",
            "ip_literal.unlisted",
        )
    spec = policy.levels[level]
    business = (policy.calendar.is_business_time(now)
                if spec.outside_business_hours_only else False)
    key = (match, level, identity.special_groups, business)
    cache = policy.decision_cache
    d = cache.get(key)
    if d is None:
        if len(cache) >= 65536:
            cache.clear()
        d = cache[key] = _by_category(policy, match, level, identity.special_groups, business)
    if justified is not None and d.justifiable:
        # only while the site is still what was justified: reclassified as malicious, or
        # the rule gone from the policy, and the justification opens nothing
        end = dt.datetime.fromtimestamp(justified.end, policy.calendar.tz).strftime("%H:%M")
        return out("allow", level, f"Acesso justificado nº {justified.id} (objeto de serviço, "
                   f"Art. 10 §1), até {end}", "justified", justified.id)
    return d


def _by_category(policy: Policy, match: Match | None, level: int,
                 special_groups: frozenset[str], business: bool) -> Decision:
    """The decision when no release applies: a pure function of its (hashable) arguments."""
    cats = match.categories if match else ()
    matched = match.entry if match else None

    def out(action: str, level: int, reason: str, rule: str) -> Decision:
        return Decision(action, level, cats, reason, rule, matched)  # type: ignore[arg-type]

    bad = [c for c in cats if c in policy.malicious]
    if bad:
        return out(
            "block", level,
            f"Site malicioso ({_labels(policy, bad)}): bloqueado em todos os níveis",
            "malicious",
        )
    platforms = [c for c in cats if policy.platform_of_category(c) is not None]
    if platforms:
        return out(
            "block", level,
            f"{_labels(policy, platforms)}: plataforma de webconferência liberada só durante "
            "um evento aprovado pela TI (pedido com 5 dias úteis de antecedência); "
            "use o Microsoft Teams",
            "webconf.event_required",
        )
    if any(c in policy.homologated for c in cats):
        return out(
            "allow", level, "Microsoft Teams: plataforma homologada", "webconf.homologated"
        )
    if level == 4:
        return out("allow", 4, "Nível 4 (ACESSO IRRESTRITO), por tempo determinado", "level4")

    granted: set[str] = set()
    for g in special_groups:
        sg = policy.special_groups.get(g)
        if sg is not None:
            granted |= sg.categories
    blocked = [c for c in cats if c in policy.blocked and c not in granted]
    if blocked and all(c in policy.levels[level].justify for c in blocked):
        return Decision(
            "block", level, cats,
            f"Categoria bloqueada ({_labels(policy, blocked)}) pela Ordem de Serviço 03/2018, "
            "art. 10 §1, exceto em objeto de serviço: se o seu trabalho precisa deste site, "
            f"justifique e ele abre para você por {policy.justify_minutes} minutos",
            "category.blocked", matched, None, True)
    if blocked:
        return out(
            "block", level,
            f"Categoria bloqueada ({_labels(policy, blocked)}) pela Ordem de Serviço 03/2018, "
            "art. 10",
            "category.blocked",
        )
    spec = policy.levels[level]
    if spec.allow_only is not None:
        ok = [c for c in cats if c in spec.allow_only or c in granted]
        if ok:
            return out(
                "allow", level, f"{_labels(policy, ok)}: permitido no nível {level}",
                "level1.allowlist",
            )
        what = f"Categoria {_labels(policy, cats)}" if cats else "Site não classificado"
        return out(
            "block", level,
            f"{what}: o nível {level} ({spec.name}) só acessa sites governamentais, bancos, "
            "educação, jurídicos e de trabalho",
            "level1.not_allowlisted",
        )
    timed = [c for c in cats if c in spec.outside_business_hours_only and c not in granted]
    if timed and business:
        return out(
            "block", level,
            f"{_labels(policy, timed)} só fora do horário de expediente para o nível {level}",
            "level2.business_hours",
        )
    if any(c in granted for c in cats):
        return out(
            "allow", level, "Permitido pelo grupo de acesso especial", "special_group"
        )
    return out("allow", level, f"Permitido no nível {level} ({spec.name})", "level.allowed")
