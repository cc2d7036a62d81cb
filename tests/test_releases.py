"""Releases (Art. 9 §10–12, seed 000) on a real state database."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from pathlib import Path

import pytest

from addon.errors import ReleaseError
from addon.settings.load import load_policy
from addon.state import history, releases, requests
from addon.state.releases import Target
from tests.conftest import copy_shipped
from tests.support.store import made

ROOT = Path(__file__).resolve().parent.parent
ANA = Target("user", "servidor")


@pytest.fixture
def env(tmp_path: Path, backend: str, request: pytest.FixtureRequest):  # noqa: ANN201
    """The shipped policy with its state in SQLite, or in a real PostgreSQL."""
    policy = load_policy(copy_shipped(tmp_path).config, workdir=tmp_path)
    if backend == "postgresql":
        url = request.getfixturevalue("postgres").create_database(f"rel_{tmp_path.name}"[:60])
        policy = dataclasses.replace(policy, paths=dataclasses.replace(policy.paths, database=url))
    return policy, made(policy.paths)


def n_releases(conn) -> int:  # noqa: ANN001
    return conn.execute("SELECT count(*) FROM releases").fetchone()[0]


def event(env, date: str, today: str, start: str = "10:00", end: str = "11:00") -> int:  # noqa: ANN001
    policy, conn = env
    return requests.request_event(conn, policy, ANA, "zoom", dt.date.fromisoformat(date),
                                  dt.time.fromisoformat(start), dt.time.fromisoformat(end),
                                  "seminário", "ti", today=dt.date.fromisoformat(today))


def test_seed000_item4_five_business_days_across_a_holiday(env) -> None:  # noqa: ANN001
    with pytest.raises(ReleaseError) as exc:
        event(env, "2026-11-24", today="2026-11-16")  # 2026-11-20 is a national holiday
    assert "earliest acceptable date is 2026-11-25" in str(exc.value)
    assert event(env, "2026-11-24", today="2026-11-13") > 0


def test_seed000_item4_across_a_weekend(env) -> None:  # noqa: ANN001
    with pytest.raises(ReleaseError):
        event(env, "2026-12-07", today="2026-12-01")  # Tue -> next Mon: 3 business days between
    assert event(env, "2026-12-09", today="2026-12-01")  # Wed, Thu, Fri, Mon, Tue between


def test_seed000_item5_request_then_approve_or_deny_then_appeal_once(env) -> None:  # noqa: ANN001
    policy, conn = env
    rid = event(env, "2027-03-10", today="2027-03-01")
    assert releases.listing(conn, statuses=("requested",))[0]["id"] == rid
    assert releases.active_for_engine(conn, 0)[0] == ()  # a request is not a release
    requests.approve(conn, policy, rid, "chefe.ti")
    rel = releases.active_for_engine(conn, 0)[0]
    assert rel[0].id == rid and rel[0].obj == "webconf_zoom"
    tz = policy.calendar.tz
    assert rel[0].start == dt.datetime(2027, 3, 10, 9, 30, tzinfo=tz).timestamp()
    assert rel[0].end == dt.datetime(2027, 3, 10, 11, 30, tzinfo=tz).timestamp()
    other = event(env, "2027-03-11", today="2027-03-01")
    requests.deny(conn, other, "risco", "chefe.ti")
    requests.appeal(conn, other, "evento institucional", "servidor")
    requests.deny(conn, other, "mantido", "subpgj")
    with pytest.raises(ReleaseError, match="already appealed once"):
        requests.appeal(conn, other, "de novo", "servidor")
    actions = [r["action"] for r in history.entries(conn)]
    for a in ("release.event.request", "release.approve", "release.deny", "release.appeal"):
        assert a in actions
    # the whole history is kept: the appeal no longer overwrites the denial's reason
    steps = [(s.what, s.who, s.text) for s in requests.timeline(conn, other)]
    assert steps[1:] == [("negado", "chefe.ti", "risco"),
                         ("recurso", "servidor", "evento institucional"),
                         ("negado", "subpgj", "mantido")]
    assert releases.fetch(conn, other)["decision_note"] == "mantido"


def test_an_appeal_keeps_the_denial_as_the_decision(env) -> None:  # noqa: ANN001
    policy, conn = env
    rid = requests.request_access(conn, policy, "servidor", domain="www.youtube.com",
                                  category=None, days=2, reason="curso")
    requests.deny(conn, rid, "sem relação com o serviço", "comite")
    requests.appeal(conn, rid, "é do curso de capacitação", "servidor")
    row = releases.fetch(conn, rid)
    assert row["status"] == "appealed" and row["decision_note"] == "sem relação com o serviço"
    assert [(s.what, s.text) for s in requests.timeline(conn, rid)] == [
        ("pedido", "curso"), ("negado", "sem relação com o serviço"),
        ("recurso", "é do curso de capacitação")]


def test_art9_par10_seven_days_one_extension_committee_beyond(env) -> None:  # noqa: ANN001
    policy, conn = env
    grant = lambda **kw: releases.grant(conn, policy, ANA, domain=kw.pop("domain", "youtube.com"),  # noqa: E731
                                        category=None, start=None, reason="curso", operator="ti",
                                        **kw)
    with pytest.raises(ReleaseError, match="exceeds 7 days"):
        grant(days=7.5)
    long = grant(days=30, committee_ref="CGAI 12/2026")
    assert releases.listing(conn)[0]["committee_ref"] == "CGAI 12/2026" and long
    rid = grant(days=7)
    with pytest.raises(ReleaseError, match="exceeds 7 days"):
        releases.extend(conn, policy, rid, 8, "ti")
    releases.extend(conn, policy, rid, 7, "ti")
    with pytest.raises(ReleaseError, match="already extended once"):
        releases.extend(conn, policy, rid, 1, "ti")
    releases.extend(conn, policy, rid, 1, "ti", committee_ref="CGAI 13/2026")


def test_art9_par11_malicious_needs_analysis(env) -> None:  # noqa: ANN001
    policy, conn = env
    with pytest.raises(ReleaseError, match="analysis-ref"):
        releases.grant(conn, policy, ANA, domain=None, category="malware", start=None, days=1,
                       reason="x", operator="ti")
    assert releases.grant(conn, policy, ANA, domain=None, category="malware", start=None, days=1,
                          reason="x", operator="ti", analysis_ref="AT-7/2026")


def test_bad_input_changes_nothing(env) -> None:  # noqa: ANN001
    policy, conn = env
    bad = [
        lambda: event(env, "2027-03-10", today="2027-03-01", start="11:00", end="10:00"),
        lambda: requests.request_event(conn, policy, ANA, "hangouts2", dt.date(2027, 3, 10),
                                       dt.time(10), dt.time(11), "x", "ti", dt.date(2027, 3, 1)),
        lambda: event(env, "2027-02-01", today="2027-03-01"),
        lambda: requests.approve(conn, policy, 4242, "ti"),
        lambda: releases.parse_target("host:x"),
        lambda: releases.grant(conn, policy, ANA, domain=None, category="webconf_zoom",
                               start=None, days=1, reason="x", operator="ti"),
        lambda: releases.grant(conn, policy, ANA, domain="exa mple", category=None, start=None,
                               days=1, reason="x", operator="ti"),
    ]
    for call in bad:
        with pytest.raises(ReleaseError):
            call()
    assert n_releases(conn) == 0


def test_revoke_ends_it_now(env) -> None:  # noqa: ANN001
    policy, conn = env
    rid = releases.grant(conn, policy, ANA, domain="youtube.com", category=None, start=None,
                         days=1, reason="x", operator="ti")
    releases.revoke(conn, rid, "fim do curso", "ti")
    assert releases.active_for_engine(conn, time.time() + 1)[0] == ()


def test_seed000_items1_2_a_platform_domain_is_never_released_for_days(env) -> None:  # noqa: ANN001
    policy, conn = env
    with pytest.raises(ReleaseError, match="only for one event"):
        releases.grant(conn, policy, ANA, domain="zoom.us", category=None, start=None, days=7,
                       reason="reunião", operator="ti", domain_categories=("webconf_zoom",))
    # nor by approving a request for it: the same rule holds for both ways in
    rid = requests.request_access(conn, policy, "ana", domain="zoom.us", category=None, days=3,
                                  reason="reunião")
    with pytest.raises(ReleaseError, match="seed 000"):
        requests.approve(conn, policy, rid, "ti", domain_categories=("webconf_zoom",))
    assert releases.active_for_engine(conn, 0)[0] == ()


def test_art9_par11_approving_a_malicious_site_needs_the_technical_analysis(env) -> None:  # noqa: ANN001
    policy, conn = env
    rid = requests.request_access(conn, policy, "ana", domain="wicar.org", category=None, days=1,
                                  reason="pesquisa de segurança")
    with pytest.raises(ReleaseError, match="Art. 9 §11"):
        requests.approve(conn, policy, rid, "ti", domain_categories=("malware",))
    requests.approve(conn, policy, rid, "ti", analysis_ref="LAUDO-7/2026",
                     domain_categories=("malware",))
    (rel,) = releases.active_for_engine(conn, 0)[0]
    assert rel.analysis_ref == "LAUDO-7/2026"  # the release that opens it carries the analysis
