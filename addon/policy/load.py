"""YAML -> validated Policy. Every error names the file, the key and the problem.

Validation is strict because a typo in a category name would silently open or
close access for a whole level: an unknown category, level or group is an error.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from addon.errors import PolicyError
from addon.policy import deployment_settings as deploy
from addon.policy.clock import BusinessCalendar, optional_holidays
from addon.policy.destinations import DEFAULT_FORBIDDEN, LOOPBACK
from addon.policy.ldap_settings import parse_ldap
from addon.policy.model import (
    AuthLimits,
    Level,
    LogonSource,
    MachineLevel,
    Paths,
    Platform,
    Policy,
    SpecialGroup,
    StaticUser,
)
from addon.policy.notify_settings import parse_notify
from addon.policy.reader import Reader, unclosed_quote

DEFAULT_POLICY = Path("config/policy.yaml")
WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


def load_policy(path: Path | str = DEFAULT_POLICY, workdir: Path | None = None) -> Policy:
    """Read and validate a policy file. Relative paths it names resolve against the
    file's folder (lists travel with the policy; a policy in /etc/guarita finds its state
    from any folder). Without `paths.state`, state lives in `./var` of the working folder
    (the embedded default, run from a checkout); `paths.imported` defaults to `<state>/lists`.
    """
    path = Path(path)
    workdir = workdir or Path.cwd()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        hint = (" (give --config FILE or set GUARITA_CONFIG)"
                if isinstance(exc, FileNotFoundError) else "")
        raise PolicyError(f"{path}: cannot read policy file: {exc.strerror or exc}{hint}") from exc
    try:
        tree = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        quote = unclosed_quote(text, mark.line) if mark else None
        raise PolicyError(f"{path}: invalid YAML{where}: {problem}{quote or ''}") from exc
    if not isinstance(tree, dict):
        raise PolicyError(f"{path}: the policy must be a YAML mapping")
    r = Reader(path)

    labels_raw = r.get(tree, "categories", dict, "")
    labels = {str(k): str(v) for k, v in labels_raw.items()}

    tz_name = r.get(tree, "timezone", str, "")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise r.fail("timezone", f"unknown time zone {tz_name!r}") from exc
    bh = r.get(tree, "business_hours", dict, "")
    start, end = r.time(bh, "start", "business_hours"), r.time(bh, "end", "business_hours")
    if start >= end:
        raise r.fail("business_hours", "start must be before end")
    days_raw = r.get(bh, "weekdays", list, "business_hours", ["mon", "tue", "wed", "thu", "fri"])
    try:
        weekdays = frozenset(WEEKDAYS[str(d).lower()] for d in days_raw)
    except KeyError as exc:
        raise r.fail("business_hours.weekdays", f"unknown weekday {exc.args[0]!r}") from exc
    hol = r.get(tree, "holidays", dict, "", {"country": "BR", "subdivision": "RS"})
    country = r.get(hol, "country", str, "holidays", "BR")
    subdiv = r.get(hol, "subdivision", str, "holidays", None)
    optional = frozenset(str(n) for n in r.get(hol, "optional", list, "holidays", []))
    known = {n for y in range(2024, 2031) for n in optional_holidays(country, subdiv, y).values()}
    unknown = sorted(optional - known)
    if unknown:
        raise r.fail("holidays.optional", f"unknown optional holiday(s) {unknown}; known: "
                     f"{', '.join(sorted(known)) or 'none for this country'}")
    extra_dates: set[dt.date] = set()
    for i, day in enumerate(r.get(hol, "extra_dates", list, "holidays", [])):
        try:
            extra_dates.add(day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day)))
        except ValueError as exc:
            raise r.fail(f"holidays.extra_dates[{i}]", f"invalid date {day!r} (YYYY-MM-DD)") \
                from exc
    calendar = BusinessCalendar(tz, start, end, weekdays, country, subdiv, optional,
                                frozenset(extra_dates))
    try:
        calendar.holidays_of(2026)
    except NotImplementedError as exc:
        raise r.fail("holidays", f"no holiday calendar for {country}/{subdiv}") from exc

    levels_raw = r.get(tree, "levels", dict, "")
    levels: dict[int, Level] = {}
    for n in range(5):
        spec = levels_raw.get(n, levels_raw.get(str(n)))
        if not isinstance(spec, dict):
            raise r.fail(f"levels.{n}", "missing (levels 0 to 4 must all be described)")
        allow = spec.get("allow_only")
        levels[n] = Level(
            number=n,
            name=r.get(spec, "name", str, f"levels.{n}"),
            allow_only=r.categories(allow, f"levels.{n}.allow_only", labels)
            if allow is not None else None,
            outside_business_hours_only=r.categories(
                spec.get("outside_business_hours_only", []),
                f"levels.{n}.outside_business_hours_only", labels,
            ),
        )
    extra = {str(k) for k in levels_raw} - {str(n) for n in range(5)}
    if extra:
        raise r.fail("levels", f"unknown level(s) {sorted(extra)}: levels are 0 to 4")

    blocked = r.categories(tree.get("blocked", []), "blocked", labels)
    malicious = r.categories(tree.get("malicious", []), "malicious", labels)
    if not malicious:
        raise r.fail("malicious", "must name the malicious categories (malware, phishing)")

    specials: dict[str, SpecialGroup] = {}
    for name, spec in r.get(tree, "special_groups", dict, "", {}).items():
        where = f"special_groups.{name}"
        if not isinstance(spec, dict):
            raise r.fail(where, "must be a mapping with label and categories")
        specials[str(name)] = SpecialGroup(
            str(name), r.get(spec, "label", str, where),
            r.categories(spec.get("categories"), f"{where}.categories", labels),
        )

    wc = r.get(tree, "webconference", dict, "")
    homologated = r.categories(wc.get("homologated", []), "webconference.homologated", labels)
    platforms: dict[str, Platform] = {}
    for name, spec in r.get(wc, "platforms", dict, "webconference").items():
        where = f"webconference.platforms.{name}"
        if not isinstance(spec, dict):
            raise r.fail(where, "must be a mapping with label and category")
        cat = r.get(spec, "category", str, where)
        r.categories([cat], f"{where}.category", labels)
        platforms[str(name).lower()] = Platform(str(name).lower(), r.get(spec, "label", str, where), cat)

    directory = r.get(tree, "directory", dict, "")
    group_levels: dict[str, int] = {}
    for g, lv in r.get(directory, "groups", dict, "directory", {}).items():
        if not isinstance(lv, int) or isinstance(lv, bool) or not 0 <= lv <= 3:
            raise r.fail(
                f"directory.groups.{g}",
                "level must be 0 to 3 (level 4 is always time-limited: "
                "grant it with `guarita release level`)",
            )
        group_levels[str(g).casefold()] = lv  # directories disagree on case; names don't
    group_special: dict[str, frozenset[str]] = {}
    for g, names in r.get(directory, "special_groups", dict, "directory", {}).items():
        names = [names] if isinstance(names, str) else names
        for s in names or []:
            if s not in specials:
                raise r.fail(f"directory.special_groups.{g}", f"unknown special group {s!r}")
        group_special[str(g).casefold()] = frozenset(names or [])
    kind = r.get(directory, "kind", str, "directory", "static")
    if kind not in ("static", "ldap"):
        raise r.fail("directory.kind", f"must be static or ldap, got {kind!r}")
    ldap_settings = parse_ldap(r, directory) if kind == "ldap" else None
    auth_tree = r.get(directory, "authentication", dict, "directory", {})
    w = "directory.authentication"
    auth = AuthLimits(
        cache_seconds=float(r.get(auth_tree, "cache_seconds", (int, float), w, 300)),
        max_failures=r.get(auth_tree, "max_failures", int, w, 5),
        lockout_seconds=float(r.get(auth_tree, "lockout_seconds", (int, float), w, 300)),
        negotiate=deploy.parse_negotiate(r, auth_tree, path),
    )
    if auth.cache_seconds < 0 or auth.max_failures < 1 or auth.lockout_seconds < 0:
        raise r.fail(w, "cache_seconds and lockout_seconds must be >= 0, max_failures >= 1")
    default_level = r.get(directory, "default_level", int, "directory", 1)
    if not 0 <= default_level <= 3:
        raise r.fail("directory.default_level", "must be 0 to 3")
    users: dict[str, StaticUser] = {}
    for login, spec in r.get(directory, "users", dict, "directory", {}).items():
        where = f"directory.users.{login}"
        spec = spec or {}
        if not isinstance(spec, dict):
            raise r.fail(where, "must be a mapping with groups and password")
        groups = r.get(spec, "groups", list, where, [])
        chief = r.get(spec, "chief", str, where, None)
        users[str(login).lower()] = StaticUser(
            str(login).lower(), frozenset(str(g).casefold() for g in groups),
            r.get(spec, "password", str, where, None),
            r.get(spec, "email", str, where, None), chief.lower() if chief else None,
        )

    machines: list[MachineLevel] = []
    for i, spec in enumerate(r.get(tree, "machines", list, "", [])):
        where = f"machines[{i}]"
        if not isinstance(spec, dict):
            raise r.fail(where, "must be a mapping with network and level")
        try:
            net = ipaddress.ip_network(r.get(spec, "network", str, where), strict=False)
        except ValueError as exc:
            raise r.fail(f"{where}.network", str(exc)) from exc
        lv = r.get(spec, "level", int, where)
        if not 0 <= lv <= 3:
            raise r.fail(f"{where}.level", "must be 0 to 3")
        machines.append(MachineLevel(net, lv, str(spec.get("note", ""))))

    paths_raw = r.get(tree, "paths", dict, "", {})
    cat_dirs = r.get(paths_raw, "categories", (str, list), "paths", ["../categories"])
    cat_dirs = [cat_dirs] if isinstance(cat_dirs, str) else cat_dirs
    if not cat_dirs or not all(isinstance(d, str) and d for d in cat_dirs):
        raise r.fail("paths.categories", "must be a folder or a list of folders")
    base = path.resolve().parent
    # state: named in the policy -> against the policy's folder (a policy in /etc/guarita
    # keeps its state wherever the CLI is run from); not named -> ./var, where guarita runs
    state_raw = r.get(paths_raw, "state", str, "paths", None)
    state_dir = base / state_raw if state_raw else workdir / "var"
    imported_raw = r.get(paths_raw, "imported", str, "paths", None)
    paths = Paths(
        category_dirs=tuple((base / d).resolve() for d in cat_dirs),
        imported_dir=base / imported_raw if imported_raw else state_dir / "lists",
        state_dir=state_dir,
        database=deploy.parse_storage(r, tree, os.environ.get("GUARITA_DATABASE_URL")),
    )

    nodes, direct = deploy.parse_cluster(r, tree)

    logon = r.get(tree, "logon", dict, "", {})
    sources: list[LogonSource] = []
    for name, spec in r.get(logon, "sources", dict, "logon", {}).items():
        where = f"logon.sources.{name}"
        if not isinstance(spec, dict):
            raise r.fail(where, "must be a mapping with scope and token_env or token_file")
        scope = r.get(spec, "scope", str, where)
        if scope not in ("collector", "workstation"):
            raise r.fail(f"{where}.scope", f"must be collector or workstation, got {scope!r}")
        if "token" in spec:
            raise r.fail(f"{where}.token", "never put a token in the policy file: use "
                         "token_env or token_file")
        env, file = r.get(spec, "token_env", str, where, None), r.get(spec, "token_file", str,
                                                                      where, None)
        if (env is None) == (file is None):
            raise r.fail(where, "give exactly one of token_env or token_file")
        sources.append(LogonSource(str(name), scope, env, file))
    conflicts = r.get(logon, "conflicts", str, "logon", "collector")
    if conflicts not in ("collector", "newest"):
        raise r.fail("logon.conflicts", f"must be collector or newest, got {conflicts!r}")
    releases = r.get(tree, "releases", dict, "", {})
    dest = r.get(tree, "destinations", dict, "", {})
    forbidden = []
    for i, net in enumerate(r.get(dest, "forbidden", list, "destinations", list(DEFAULT_FORBIDDEN))):
        try:
            forbidden.append(ipaddress.ip_network(str(net), strict=False))
        except ValueError as exc:
            raise r.fail(f"destinations.forbidden[{i}]", str(exc)) from exc
    forbidden.extend(n for n in LOOPBACK if n not in forbidden)  # never optional
    ipl = r.get(tree, "ip_literals", dict, "", {})
    ip_min = r.get(ipl, "min_level", int, "ip_literals", 3)
    if not 0 <= ip_min <= 5:
        raise r.fail("ip_literals.min_level", "must be 0 to 5 (5: never by IP)")
    ip_allow = []
    for i, net in enumerate(r.get(ipl, "allow", list, "ip_literals", [])):
        try:
            ip_allow.append(ipaddress.ip_network(str(net), strict=False))
        except ValueError as exc:
            raise r.fail(f"ip_literals.allow[{i}]", str(exc)) from exc
    return Policy(
        source=path,
        digest=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        levels=levels,
        category_labels=labels,
        blocked=blocked,
        malicious=malicious,
        special_groups=specials,
        homologated=homologated,
        platforms=platforms,
        calendar=calendar,
        group_levels=group_levels,
        group_special=group_special,
        default_level=default_level,
        users=users,
        ldap=ldap_settings,
        auth=auth,
        machines=tuple(machines),
        paths=paths,
        event_notice_business_days=r.get(wc, "notice_business_days", int, "webconference", 5),
        event_margin_minutes=r.get(wc, "margin_minutes", int, "webconference", 30),
        release_max_days=r.get(releases, "max_days", int, "releases", 7),
        release_max_extension_days=r.get(releases, "max_extension_days", int, "releases", 7),
        organisation=str(tree.get("organisation", "")),
        help_text=str(tree.get("help", "")),
        forbidden_networks=tuple(forbidden),
        logon_sources=tuple(sources),
        logon_conflicts=conflicts,
        ip_literal_min_level=ip_min,
        ip_literal_allow=tuple(ip_allow),
        notify=parse_notify(r, tree),
        console_roles=deploy.parse_console_roles(r, tree),
        cluster_nodes=nodes,
        direct_domains=direct,
        raw=tree,
    )
