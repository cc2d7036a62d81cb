"""The policy file's rules as declared models: every key it may hold, its type and default.

A misspelt key is an error, never a silent default (`blokced:` once let adult sites through
at level 2). Checks that span sections (a category or special group named must be declared)
are in `addon.policy.crosscheck`; the deployment sections (storage, directory connection,
SMTP, keytab, cluster) are declared apart, in `addon.settings.deployment`, and never reach
this module.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from addon.policy.destinations import DEFAULT_FORBIDDEN
from addon.policy.notify_document import Notifications, Violations
from addon.settings.base import Bool, Declared, Float, Int, one_or_many, refused

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Role = Literal["ti", "comite", "auditoria", "chefia"]


def _time(value: Any) -> dt.time:
    if not isinstance(value, str):  # YAML reads 08:30 unquoted as a number (sexagesimal)
        raise ValueError(f"invalid time {value!r} (use HH:MM, quoted)")
    try:
        return dt.time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"invalid time {value!r} (use HH:MM)") from None


def _network(value: Any) -> IPNetwork:
    try:
        return ipaddress.ip_network(str(value), strict=False)
    except ValueError as exc:
        raise ValueError(str(exc)) from None


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"invalid date {value!r} (YYYY-MM-DD)") from None


Time = Annotated[dt.time, BeforeValidator(_time)]
Network = Annotated[IPNetwork, BeforeValidator(_network)]
Date = Annotated[dt.date, BeforeValidator(_date)]
Names = Annotated[tuple[str, ...], BeforeValidator(one_or_many)]
Level03 = Annotated[Int, Field(ge=0, le=3)]
Level04 = Annotated[Int, Field(ge=0, le=4)]


class BusinessHours(Declared):
    start: Time
    end: Time
    weekdays: tuple[Annotated[Weekday, BeforeValidator(lambda d: str(d).lower())], ...] = (
        "mon", "tue", "wed", "thu", "fri")

    @model_validator(mode="after")
    def _ordered(self) -> BusinessHours:
        if self.start >= self.end:
            raise ValueError("start must be before end")
        return self


class Holidays(Declared):
    country: str = "BR"
    subdivision: str | None = None
    optional: tuple[str, ...] = ()  # checked against the package's names by the loader
    extra_dates: tuple[Date, ...] = ()


class Paths(Declared):
    categories: Names | None = None  # None: ../categories
    state: str | None = None  # None: ./var where guarita runs
    imported: str | None = None  # None: <state>/lists

    @field_validator("categories")
    @classmethod
    def _folders(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and (not value or not all(value)):
            raise ValueError("must be a folder or a list of folders")
        return value


class LevelSpec(Declared):
    name: str
    allow_only: tuple[str, ...] | None = None  # an allow-list (level 1); None: all not blocked
    outside_business_hours_only: tuple[str, ...] = ()
    # Art. 10 §1 "exceto quando em objeto de serviço": blocked categories a person may open,
    # one site at a time, by saying why their work needs it (`justification`)
    justify: tuple[str, ...] = ()


class Justification(Declared):
    """How a justification opens a site (Art. 10 §1): for how long, how many a day per
    person, and how much a person must write."""

    minutes: Annotated[Int, Field(ge=5, le=480)] = 60
    per_day: Annotated[Int, Field(ge=1, le=50)] = 5
    min_length: Annotated[Int, Field(ge=10, le=500)] = 20


class SpecialGroupSpec(Declared):
    label: str
    categories: tuple[str, ...]


class PlatformSpec(Declared):
    label: str
    category: str


class Webconference(Declared):
    platforms: dict[str, PlatformSpec]
    homologated: tuple[str, ...] = ()
    notice_business_days: Annotated[Int, Field(ge=0)] = 5
    margin_minutes: Annotated[Int, Field(ge=0)] = 30


class Releases(Declared):
    max_days: Annotated[Int, Field(ge=1)] = 7
    max_extension_days: Annotated[Int, Field(ge=0)] = 7


class Authentication(Declared):
    cache_seconds: Annotated[Float, Field(ge=0)] = 300.0
    max_failures: Annotated[Int, Field(ge=1)] = 5
    lockout_seconds: Annotated[Float, Field(ge=0)] = 300.0


class StaticUserSpec(Declared):
    groups: tuple[str, ...] = ()
    password: str | None = None
    email: str | None = None
    chief: str | None = None

    _no_level = refused("level", "a user's level comes from its groups; level 4 is always "
                                 "time-limited: grant it with `guarita release level`")


def _group_level(value: Any) -> Any:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 3:
        raise ValueError("level must be 0 to 3 (level 4 is always time-limited: "
                         "grant it with `guarita release level`)")
    return value


class Directory(Declared):
    kind: Literal["static", "ldap"] = "static"
    default_level: Level03 = 1
    groups: dict[str, Annotated[int, BeforeValidator(_group_level)]] = {}
    special_groups: dict[str, Names] = {}
    users: dict[str, Annotated[StaticUserSpec, BeforeValidator(lambda u: u or {})]] = {}
    authentication: Authentication = Authentication()


class Machine(Declared):
    network: Network
    level: Level03
    note: str = ""


class Destinations(Declared):
    forbidden: tuple[Network, ...] = tuple(ipaddress.ip_network(n) for n in DEFAULT_FORBIDDEN)


class IpLiterals(Declared):
    min_level: Annotated[Int, Field(ge=0, le=5)] = 3  # 5: never by IP
    allow: tuple[Network, ...] = ()


class LogonSourceSpec(Declared):
    scope: Literal["collector", "workstation"]
    token_env: str | None = None
    token_file: str | None = None

    _no_token = refused("token", "never put a token in the policy file: use token_env or "
                                 "token_file")

    @model_validator(mode="after")
    def _one_place(self) -> LogonSourceSpec:
        if (self.token_env is None) == (self.token_file is None):
            raise ValueError("give exactly one of token_env or token_file")
        return self


class Logon(Declared):
    conflicts: Literal["collector", "newest"] = "collector"
    sources: dict[str, LogonSourceSpec] = {}


def _console_url(value: str | None) -> str | None:
    if value is None:
        return None
    if not value.startswith(("http://", "https://")) or any(c in value for c in "\"'<> \t\n"):
        raise ValueError("must be the console's address, http://… or https://…")
    return value.rstrip("/")


class Console(Declared):
    roles: dict[Role, Names] = {}
    # where people reach the console: the block page and its form link "Meus pedidos" there
    url: Annotated[str | None, AfterValidator(_console_url)] = None


class AuditSpec(Declared):
    """What the audit log keeps (LGPD: necessity, retention): query strings only when
    asked, and records for `retention_days`, legal holds aside. Absent, records stay until
    pruned by hand, as before the key existed: an upgrade never starts deleting by itself
    (the shipped policy sets 183 days)."""

    keep_query: Bool = False
    retention_days: Annotated[Int, Field(ge=1, le=3650)] | None = None
    # a file outside the database (another volume or machine) where every signed checkpoint
    # is appended; relative to the policy's folder
    witness: str | None = None
    # the committee's digest carries the period's checkpoints: a witness in their mailboxes
    email_checkpoints: Bool = False
    # a question about a named person or machine must give a case reference
    require_case_for_person: Bool = False
    # the text the block page and the console link as "Aviso de privacidade" (LGPD Art. 9)
    privacy_notice: str = ""


class DnsSpec(Declared):
    """The DNS companion (`guarita run --dns-port`): which categories' names it answers with
    NXDOMAIN when the person's level blocks them (the DoH and DoT providers, so browsers
    cannot bypass it; the malicious categories always), and whether every question is
    recorded or only the refused ones (the others counted in metrics)."""

    refuse: tuple[str, ...] = ()
    record: Literal["all", "refused"] = "all"
    # levels whose Google, YouTube and Bing names are answered with the engines' SafeSearch
    # names (forcesafesearch.google.com, restrict.youtube.com, strict.bing.com)
    safesearch: tuple[Level04, ...] = ()


class PolicyDocument(Declared):
    """The whole policy file, less its deployment sections."""

    timezone: str
    business_hours: BusinessHours
    categories: dict[str, str]
    levels: dict[int, LevelSpec]
    malicious: tuple[str, ...]
    webconference: Webconference
    directory: Directory
    organisation: str = ""
    help: str = ""
    holidays: Holidays = Holidays(subdivision="RS")
    paths: Paths = Paths()
    blocked: tuple[str, ...] = ()
    special_groups: dict[str, SpecialGroupSpec] = {}
    releases: Releases = Releases()
    justification: Justification = Justification()
    machines: tuple[Machine, ...] = ()
    destinations: Destinations = Destinations()
    ip_literals: IpLiterals = IpLiterals()
    logon: Logon = Logon()
    console: Console = Console()
    audit: AuditSpec = AuditSpec()
    dns: DnsSpec = DnsSpec()
    violations: Violations = Violations()
    notifications: Notifications | None = None  # None: no e-mail

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}") from None
        return name

    @field_validator("levels")
    @classmethod
    def _all_five(cls, levels: dict[int, LevelSpec]) -> dict[int, LevelSpec]:
        missing = [n for n in range(5) if n not in levels]
        if missing:
            raise ValueError(f"level {missing[0]} missing (levels 0 to 4 must all be described)")
        extra = sorted(n for n in levels if not 0 <= n <= 4)
        if extra:
            raise ValueError(f"unknown level(s) {extra}: levels are 0 to 4")
        return levels

    @field_validator("malicious")
    @classmethod
    def _some_malicious(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("must name the malicious categories (malware, phishing)")
        return value
