"""Checks across sections of a declared policy: every name it uses must be declared.

A category name with a typo would silently open or close access for a whole level, so each
list of categories, each special group named by a directory group and each severity named by
a violation rule must exist. Each problem is `(where in the file, problem)`, found all at once, so a
person fixes a file in one pass.
"""

from __future__ import annotations

from collections.abc import Iterator

from addon.policy.document import PolicyDocument
from addon.policy.holiday_table import HolidayTable

Loc = tuple[int | str, ...]
Problem = tuple[Loc, str]


def _category_lists(doc: PolicyDocument) -> Iterator[tuple[Loc, tuple[str, ...]]]:
    for n, level in sorted(doc.levels.items()):
        if level.allow_only is not None:
            yield ("levels", n, "allow_only"), level.allow_only
        yield ("levels", n, "outside_business_hours_only"), level.outside_business_hours_only
        yield ("levels", n, "justify"), level.justify
    yield ("blocked",), doc.blocked
    yield ("malicious",), doc.malicious
    for name, group in doc.special_groups.items():
        yield ("special_groups", name, "categories"), group.categories
    yield ("webconference", "homologated"), doc.webconference.homologated
    for name, platform in doc.webconference.platforms.items():
        yield ("webconference", "platforms", name, "category"), (platform.category,)
    for i, rule in enumerate(doc.violations.rules or ()):
        yield ("violations", "rules", i, "categories"), rule.categories
    yield ("dns", "refuse"), doc.dns.refuse


# What no justification may ever open, whatever the policy says: malware and phishing, adult
# content, and the anonymisers that would hide everything after them (Art. 9 §11, Art. 10
# VII); the malicious categories and web-conference platforms of the policy besides.
NEVER_JUSTIFIABLE = frozenset({
    "malware", "phishing", "cryptojacking", "adult", "mixed_adult", "redirector",
    "strict_redirector", "residential-proxies", "vpn", "doh"})


def _justify_problems(doc: PolicyDocument) -> Iterator[Problem]:
    never = NEVER_JUSTIFIABLE | set(doc.malicious)
    never |= {p.category for p in doc.webconference.platforms.values()}
    for n, level in sorted(doc.levels.items()):
        if not level.justify:
            continue
        key: Loc = ("levels", n, "justify")
        if n in (0, 4) or level.allow_only is not None:
            yield key, (f"level {n} cannot have justified categories: justification opens "
                        "categories a level blocks (levels 2 and 3; level 1 keeps its "
                        "allow-list)")
            continue
        for name in level.justify:
            if name in never:
                yield key, (f"category {name!r} can never be opened by a justification "
                            "(malicious, adult, anonymiser or web-conference platform)")
            elif name in doc.categories and name not in doc.blocked:
                yield key, f"category {name!r} is not blocked: there is nothing to justify"


def problems(doc: PolicyDocument, holidays: HolidayTable | None) -> list[Problem]:
    """Every problem of `doc`; `holidays` is its calendar's table, None when there is none."""
    found: list[Problem] = []
    for key, names in _category_lists(doc):
        for name in names:
            if name not in doc.categories:
                found.append((key, f"unknown category {name!r} (declare it under 'categories')"))
    found.extend(_justify_problems(doc))
    for group, specials in doc.directory.special_groups.items():
        for name in specials:
            if name not in doc.special_groups:
                found.append((("directory", "special_groups", group),
                              f"unknown special group {name!r} (declare it under "
                              "'special_groups')"))
    for i, rule in enumerate(doc.violations.rules or ()):
        if rule.severity not in doc.violations.severities:
            found.append((("violations", "rules", i, "severity"),
                          f"unknown severity {rule.severity!r} (defined: "
                          f"{', '.join(doc.violations.severities)})"))
    hol = doc.holidays
    if holidays is None:
        found.append((("holidays",), f"no holiday calendar for {hol.country}/{hol.subdivision}"))
    else:
        known = holidays.optional_names()
        unknown = sorted(set(hol.optional) - known)
        if unknown:
            found.append((("holidays", "optional"), f"unknown optional holiday(s) {unknown}; "
                          f"known: {', '.join(sorted(known)) or 'none for this country'}"))
    return found
