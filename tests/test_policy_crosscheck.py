"""Names used across sections must be declared: categories, special groups, severities,
optional holidays, the holiday calendar itself."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from addon.policy import crosscheck
from addon.policy.document import PolicyDocument
from addon.policy.holiday_table import NoCalendar, compute
from addon.settings.load import split
from tests.conftest import ROOT

RULES, _ = split(yaml.safe_load((ROOT / "config" / "policy.yaml").read_text()))


def problems(**changes: Any) -> list[tuple[Any, str]]:
    doc = PolicyDocument.model_validate({**RULES, **changes})
    try:
        table = compute(doc.holidays.country, doc.holidays.subdivision, range(2025, 2031))
    except NoCalendar:
        table = None
    return crosscheck.problems(doc, table)


def test_the_shipped_policy_has_no_cross_section_problem() -> None:
    assert problems() == []


def test_every_list_of_categories_is_checked() -> None:
    levels = {**RULES["levels"], 2: {"name": "N", "outside_business_hours_only": ["webmial"]},
              3: {"name": "P"}}
    wc = {**RULES["webconference"], "homologated": ["teams"]}
    found = problems(levels=levels, blocked=["adult", "adlut"], webconference=wc,
                     special_groups={"x": {"label": "X", "categories": ["nada"]}},
                     violations={"rules": [{"name": "r", "categories": ["jogos"],
                                            "severity": "media"}]})
    assert [loc for loc, _ in found] == [
        ("levels", 2, "outside_business_hours_only"), ("blocked",), ("special_groups", "x",
                                                                    "categories"),
        ("webconference", "homologated"), ("violations", "rules", 0, "categories"),
        ("directory", "special_groups", "grp-redes-sociais"),  # its special groups are gone now
        ("directory", "special_groups", "grp-compras"),
        ("directory", "special_groups", "grp-software-hardware"),
        ("directory", "special_groups", "grp-crime"),
        ("directory", "special_groups", "grp-pornografia"),
        ("directory", "special_groups", "grp-video"),
        ("directory", "special_groups", "grp-webmail")]
    assert "unknown category 'adlut'" in found[1][1]


def test_severities_holidays_and_calendars() -> None:
    found = problems(violations={"rules": [{"name": "r", "severity": "altissima"}]})
    assert found == [(("violations", "rules", 0, "severity"),
                      "unknown severity 'altissima' (defined: baixa, media, alta, grave)")]
    found = problems(holidays={"country": "BR", "subdivision": "RS", "optional": ["Carnival"]})
    assert found[0][0] == ("holidays", "optional") and "Carnaval" in found[0][1]
    found = problems(holidays={"country": "XX"})
    assert (("holidays",), "no holiday calendar for XX/None") in found


@pytest.mark.parametrize("level, justify, problem", [
    (2, ["adult"], "'adult' can never be opened by a justification"),
    (2, ["phishing"], "'phishing' can never be opened"),
    (2, ["webconf_zoom"], "'webconf_zoom' can never be opened"),
    (2, ["webmail"], "'webmail' is not blocked"),
    (1, ["video"], "level 1 cannot have justified categories"),
    (4, ["video"], "level 4 cannot have justified categories"),
])
def test_justify_refuses_what_no_justification_may_open(level: int, justify: list[str],
                                                       problem: str) -> None:
    levels = {**RULES["levels"], level: {**RULES["levels"][level], "justify": justify}}
    found = problems(levels=levels)
    assert [(loc, text) for loc, text in found if problem in text] == [
        (("levels", level, "justify"), next(t for _, t in found if problem in t))]
