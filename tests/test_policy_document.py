"""The policy's declared sections: defaults, bounds, and the refusals validators give."""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from addon.policy.document import PolicyDocument
from addon.settings.load import split
from tests.conftest import ROOT

RULES, _ = split(yaml.safe_load((ROOT / "config" / "policy.yaml").read_text()))


def doc(**changes: Any) -> PolicyDocument:
    return PolicyDocument.model_validate({**RULES, **changes})


def test_the_shipped_rules_validate_with_their_defaults() -> None:
    d = doc()
    assert d.business_hours.start == dt.time(8, 30) and d.releases.max_days == 7
    assert d.ip_literals.min_level == 3 and d.notifications is None
    assert d.violations.window_minutes == 10
    assert (d.audit.retention_days, d.audit.keep_query) == (183, False)  # as shipped
    assert PolicyDocument.model_validate({k: v for k, v in RULES.items() if k != "audit"}
                                         ).audit.retention_days is None  # absent: keep all
    assert ipaddress.ip_network("169.254.0.0/16") in d.destinations.forbidden
    minimal = {k: v for k, v in RULES.items() if k in ("timezone", "business_hours", "categories",
                                                      "levels", "malicious", "webconference",
                                                      "directory")}
    m = PolicyDocument.model_validate(minimal)
    assert m.holidays.subdivision == "RS" and m.violations.severities["grave"][-1] == \
        "inspector_general" and m.destinations.forbidden


@pytest.mark.parametrize("changes, problem", [
    ({"timezone": "Mars/Olympus"}, "unknown time zone"),
    ({"business_hours": {"start": "19:00", "end": "08:00"}}, "start must be before end"),
    ({"business_hours": {"start": 830, "end": "18:00"}}, "use HH:MM, quoted"),
    ({"business_hours": {"start": "08:00", "end": "18:00", "weekdays": ["MON", "dom"]}}, "'dom'"),
    ({"levels": {n: {"name": "x"} for n in range(4)}}, "level 4 missing"),
    ({"levels": {n: {"name": "x"} for n in range(6)}}, r"unknown level\(s\) \[5\]"),
    ({"malicious": []}, "must name the malicious categories"),
    ({"machines": [{"network": "10.0.0.0/33", "level": 1}]}, "10.0.0.0/33"),
    ({"holidays": {"extra_dates": ["31/12/2027"]}}, "YYYY-MM-DD"),
    ({"logon": {"sources": {"x": {"scope": "collector", "token_env": "A", "token_file": "B"}}}},
     "exactly one of token_env or token_file"),
    ({"notifications": {"committee": "sem-arroba"}}, "e-mail address"),
    ({"paths": {"categories": []}}, "a folder or a list of folders"),
    ({"ip_literals": {"min_level": 6}}, "less than or equal to 5"),
    ({"violations": {"window_minutes": 0}}, "greater than or equal to 1"),
    ({"violations": {"window_minutes": "10"}}, "valid integer"),
])
def test_a_section_refuses(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        doc(**changes)


def test_one_name_stands_for_a_list_and_weekdays_ignore_case() -> None:
    d = doc(console={"roles": {"ti": "ti"}}, notifications={"committee": "c@x.gov",
                                                             "offices": {"inspector_general": "i@x"}},
            business_hours={"start": "08:00", "end": "18:00", "weekdays": ["MON", "Tue"]})
    assert d.console.roles == {"ti": ("ti",)} and d.business_hours.weekdays == ("mon", "tue")
    assert d.notifications is not None and d.notifications.committee == ("c@x.gov",)
    assert d.notifications.offices == {"inspector_general": ("i@x",)}


@pytest.mark.parametrize("url, ok", [("https://guarita.exemplo.gov.br/", True),
                                     ("http://10.0.0.2:8000", True),
                                     ("guarita.exemplo.gov.br", False),
                                     ('https://x/"><script>', False)])
def test_the_console_address_is_a_web_address(url: str, ok: bool) -> None:
    console = {"roles": RULES["console"]["roles"], "url": url}
    if ok:
        assert doc(console=console).console.url == url.rstrip("/")
    else:
        with pytest.raises(ValidationError, match="console's address"):
            doc(console=console)
