"""Names used across sections must be declared: categories, special groups, severities,
optional holidays, the holiday calendar itself."""

from __future__ import annotations

from typing import Any

import yaml

from addon.policy import crosscheck
from addon.policy.document import PolicyDocument
from addon.settings.load import split
from tests.conftest import ROOT

RULES, _ = split(yaml.safe_load((ROOT / "config" / "policy.yaml").read_text()))


def problems(**changes: Any) -> list[tuple[Any, str]]:
    return crosscheck.problems(PolicyDocument.model_validate({**RULES, **changes}))


def test_the_shipped_policy_has_no_cross_section_problem() -> None:
    assert problems() == []


def test_every_list_of_categories_is_checked() -> None:
    levels = {**RULES["levels"], 2: {"name": "N", "outside_business_hours_only": ["webmial"]}}
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
