"""Business calendar (holidays package) and the policy loader's errors."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from addon.errors import PolicyError
from addon.policy.clock import BusinessCalendar
from addon.settings.load import load_policy

ROOT = Path(__file__).resolve().parent.parent
CAL = BusinessCalendar(ZoneInfo("America/Sao_Paulo"), dt.time(8, 30), dt.time(18, 30))


def test_business_days_skip_weekends_and_national_and_rs_holidays() -> None:
    assert not CAL.is_business_day(dt.date(2026, 11, 20))  # Consciência Negra (national)
    assert not CAL.is_business_day(dt.date(2024, 9, 20))  # Revolução Farroupilha (RS)
    assert not CAL.is_business_day(dt.date(2026, 11, 21))  # Saturday
    assert CAL.is_business_day(dt.date(2026, 11, 23))


def test_seed000_five_business_days_strictly_between() -> None:
    """Issue example: an event on 2026-11-24 needs the request by 2026-11-13."""
    assert CAL.business_days_between(dt.date(2026, 11, 16), dt.date(2026, 11, 24)) == 4
    assert CAL.business_days_between(dt.date(2026, 11, 13), dt.date(2026, 11, 24)) == 5
    assert CAL.earliest_event_date(dt.date(2026, 11, 16), 5) == dt.date(2026, 11, 25)


def test_business_hours_edges_in_local_time() -> None:
    tz = ZoneInfo("America/Sao_Paulo")
    at = lambda h, m: dt.datetime(2026, 11, 24, h, m, tzinfo=tz).timestamp()  # noqa: E731
    assert not CAL.is_business_time(at(8, 29))
    assert CAL.is_business_time(at(8, 30))
    assert CAL.is_business_time(at(18, 29))
    assert not CAL.is_business_time(at(18, 30))


def broken(tmp_path: Path, old: str, new: str) -> Path:
    shutil.copytree(ROOT / "config", tmp_path / "config")
    p = tmp_path / "config" / "policy.yaml"
    text = p.read_text()
    assert old in text
    p.write_text(text.replace(old, new, 1))
    return p


@pytest.mark.parametrize("old, new, message", [
    ("  1:\n    name: ACESSO RESTRITO\n    allow_only: [government,",
     "  1:\n    name: ACESSO RESTRITO\n    allow_only: [governo,",
     "levels.1.allow_only: unknown category 'governo'"),
    ("    servidores: 2", "    servidores: 4", "directory.groups.servidores: level must be 0 to 3"),
    ("timezone: America/Sao_Paulo", "timezone: Mars/Olympus", "timezone: unknown time zone"),
    ('  start: "08:30"', '  start: "8h30"', "business_hours.start: invalid time"),
    ("malicious: [malware, phishing, cryptojacking]", "malicious: []", "malicious:"),
    ("    zoom: {label: Zoom, category: webconf_zoom}", "    zoom: {label: Zoom, category: zooom}",
     "webconference.platforms.zoom.category: unknown category 'zooom'"),
    ("levels:\n", "levels: [\n", "invalid YAML at line"),
])
def test_policy_errors_name_file_key_and_problem(tmp_path: Path, old: str, new: str,
                                                 message: str) -> None:
    path = broken(tmp_path, old, new)
    with pytest.raises(PolicyError) as exc:
        load_policy(path)
    assert str(path) in str(exc.value) and message in str(exc.value)


def test_cli_exits_2_on_a_broken_policy(ws) -> None:  # noqa: ANN001
    ws.config.write_text(ws.config.read_text().replace("levels:\n", "levels: [\n", 1))
    cp = ws.run("check", "https://www.gov.br/", "--level", "1")
    assert cp.returncode == 2 and "invalid YAML" in cp.stderr and "Traceback" not in cp.stderr
    assert len(cp.stderr.strip().splitlines()) == 1


def test_hole12_a_null_or_wrong_path_names_the_key(tmp_path) -> None:  # noqa: ANN001
    import pytest
    import yaml

    from addon.errors import PolicyError
    from addon.settings.load import load_policy
    from tests.conftest import ROOT

    tree = yaml.safe_load((ROOT / "config" / "policy.yaml").read_text())
    for bad in ({"categories": 3}, {"categories": [1]}, {"state": ["x"]}, {"categories": []}):
        tree["paths"] = {**tree["paths"], **bad}
        path = tmp_path / "p.yaml"
        path.write_text(yaml.safe_dump(tree, allow_unicode=True))
        with pytest.raises(PolicyError, match=r"paths\."):
            load_policy(path, tmp_path)
        tree = yaml.safe_load((ROOT / "config" / "policy.yaml").read_text())
    tree["paths"] = {**tree["paths"], "categories": None}  # null means the default
    path.write_text(yaml.safe_dump(tree, allow_unicode=True))
    assert load_policy(path, tmp_path).paths.category_dirs


def test_forbidden_destinations_are_loaded_and_loopback_is_never_optional(tmp_path) -> None:  # noqa: ANN001
    import ipaddress

    import pytest
    import yaml

    from addon.errors import PolicyError
    from addon.settings.load import load_policy
    from tests.conftest import ROOT

    tree = yaml.safe_load((ROOT / "config" / "policy.yaml").read_text())
    tree["destinations"] = {"forbidden": ["10.99.0.0/16"]}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(tree, allow_unicode=True))
    nets = load_policy(path, tmp_path).forbidden_networks
    assert ipaddress.ip_network("10.99.0.0/16") in nets and ipaddress.ip_network("127.0.0.0/8") in nets
    tree["destinations"] = {"forbidden": ["not-a-net"]}
    path.write_text(yaml.safe_dump(tree, allow_unicode=True))
    with pytest.raises(PolicyError, match=r"destinations\.forbidden\[0\]"):
        load_policy(path, tmp_path)


def _calendar(tmp_path, **holidays):  # noqa: ANN001, ANN003, ANN202
    import yaml

    from addon.settings.load import load_policy
    from tests.conftest import ROOT

    tree = yaml.safe_load((ROOT / "config" / "policy.yaml").read_text())
    tree["holidays"] = {"country": "BR", "subdivision": "RS", **holidays}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(tree, allow_unicode=True))
    return load_policy(path, tmp_path).calendar


def test_art9_par4_III_optional_holidays_count_only_when_the_policy_keeps_them(tmp_path) -> None:  # noqa: ANN001
    import datetime as dt

    carnival = dt.date(2027, 2, 9)  # a Tuesday, "ponto facultativo"
    assert _calendar(tmp_path).is_business_day(carnival)  # the package alone: a working day
    kept = _calendar(tmp_path, optional=["Carnaval"], extra_dates=["2027-03-02"])
    assert not kept.is_business_day(carnival)
    assert not kept.is_business_day(dt.date(2027, 3, 2))  # the institution's own date
    assert kept.holiday_name(carnival) == "Carnaval (ponto facultativo)"
    tz = kept.tz
    assert not kept.is_business_time(dt.datetime(2027, 2, 9, 14, tzinfo=tz).timestamp())


def test_seed000_item4_notice_skips_the_kept_optional_holidays(tmp_path) -> None:  # noqa: ANN001
    import datetime as dt

    plain = _calendar(tmp_path)
    kept = _calendar(tmp_path, optional=["Carnaval", "Quarta-feira de Cinzas"])
    asked = dt.date(2027, 2, 5)  # Friday before Carnaval
    assert plain.earliest_event_date(asked, 5) == dt.date(2027, 2, 13)
    assert kept.earliest_event_date(asked, 5) == dt.date(2027, 2, 18)  # Mon-Wed do not count


def test_the_shipped_policy_keeps_the_usual_pontos_facultativos() -> None:
    import datetime as dt

    from addon.settings.load import load_policy
    from tests.conftest import ROOT

    cal = load_policy(ROOT / "config" / "policy.yaml").calendar
    for day in (dt.date(2027, 2, 8), dt.date(2027, 5, 27), dt.date(2027, 12, 24)):
        assert not cal.is_business_day(day), day


def test_unknown_optional_holiday_or_bad_date_names_the_key(tmp_path) -> None:  # noqa: ANN001
    import pytest

    from addon.errors import PolicyError

    with pytest.raises(PolicyError, match=r"holidays.optional.*Carnival.*known: .*Carnaval"):
        _calendar(tmp_path, optional=["Carnival"])
    with pytest.raises(PolicyError, match=r"holidays.extra_dates\[0\]"):
        _calendar(tmp_path, extra_dates=["31/12/2027"])


def test_logon_sources_are_validated_and_never_hold_a_token(tmp_path) -> None:  # noqa: ANN001
    import pytest
    import yaml

    from addon.errors import PolicyError
    from addon.settings.load import load_policy
    from tests.conftest import ROOT

    base = yaml.safe_load((ROOT / "config" / "policy.yaml").read_text())
    path = tmp_path / "p.yaml"
    good = {"sources": {"dc": {"scope": "collector", "token_file": "/etc/t"},
                        "ws": {"scope": "workstation", "token_env": "T"}}, "conflicts": "newest"}
    path.write_text(yaml.safe_dump({**base, "logon": good}, allow_unicode=True))
    p = load_policy(path, tmp_path)
    assert [(s.name, s.scope) for s in p.logon_sources] == [("dc", "collector"),
                                                            ("ws", "workstation")]
    assert p.logon_conflicts == "newest"
    for bad, key in (({"dc": {"scope": "admin", "token_env": "T"}}, "scope"),
                     ({"dc": {"scope": "collector", "token": "x" * 20}}, "token"),
                     ({"dc": {"scope": "collector"}}, "token_env or token_file")):
        path.write_text(yaml.safe_dump({**base, "logon": {"sources": bad}}, allow_unicode=True))
        with pytest.raises(PolicyError, match=key):
            load_policy(path, tmp_path)


def test_state_named_in_the_policy_is_beside_it_wherever_the_cli_runs(tmp_path) -> None:  # noqa: ANN001
    import shutil

    from addon.settings.load import load_policy as load
    from tests.conftest import ROOT

    etc = tmp_path / "etc"
    shutil.copytree(ROOT / "config", etc / "config")
    shutil.copytree(ROOT / "categories", etc / "categories")
    policy_file = etc / "config" / "policy.yaml"
    shipped = policy_file.read_text()
    assert "  state: ../var\n" in shipped  # the shipped policy names it (issue 25)
    policy_file.write_text(shipped.replace("  state: ../var\n", ""))
    elsewhere = tmp_path / "home"
    default = load(policy_file, workdir=elsewhere)
    assert default.paths.state_dir == elsewhere / "var"  # not named: ./var where it runs
    assert default.paths.imported_dir == elsewhere / "var" / "lists"
    text = shipped.replace("  state: ../var\n", "  state: ../estado\n")
    policy_file.write_text(text)
    named = load(policy_file, workdir=elsewhere)
    assert named.paths.state_dir.resolve() == (etc / "estado").resolve()
    assert named.paths.imported_dir == named.paths.state_dir / "lists"


def test_a_missing_quote_is_pointed_at_where_it_is_missing(tmp_path) -> None:  # noqa: ANN001
    import pytest

    from addon.errors import PolicyError
    from addon.settings.load import load_policy as load

    bad = tmp_path / "policy.yaml"
    bad.write_text('categories:\n  adult: "Conteúdo adulto\n  games: Jogos\n'
                   'levels: {}\n# "a comment with a quote\nx: 1\n')
    with pytest.raises(PolicyError, match=r"at line 5.*quote missing on line 2"):
        load(bad)


def test_art19_settings_are_checked_with_the_key_named(ws) -> None:  # noqa: ANN001
    import pytest
    import yaml

    from addon.errors import PolicyError
    from addon.settings.load import load_policy as load

    base = yaml.safe_load(ws.config.read_text())
    cases = [
        ({"violations": {"severities": {"media": ["user", "papa"]}}},
         r"violations.severities.media\[1\]: must be one of 'user'.*got 'papa'"),
        ({"violations": {"rules": [{"name": "x", "severity": "nenhuma"}]}}, "unknown severity"),
        ({"violations": {"rules": [{"name": "x", "attempts": 0}]}}, "attempts: must be at least 1"),
        ({"notifications": {"offices": {"papa": "p@x.va"}}}, "offices.papa: must be one of"),
        ({"notifications": {"committee": ["não é endereço"]}}, "committee: must be an e-mail"),
        ({"notifications": {"digest": "monthly"}}, "digest: must be one of 'daily', 'weekly'"),
    ]
    for extra, message in cases:
        ws.config.write_text(yaml.safe_dump({**base, **extra}, allow_unicode=True))
        with pytest.raises(PolicyError, match=message):
            load(ws.config)
    ws.config.write_text(yaml.safe_dump({**base, "notifications": {"digest": "weekly"}}))
    policy = load(ws.config)
    assert policy.notify.enabled and policy.notify.digest == "weekly"
    assert policy.notify.smtp.host == "localhost"
