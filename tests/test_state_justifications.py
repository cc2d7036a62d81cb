"""state.justifications: a site opened on a person's word, bounded, revoked, on both engines."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from addon.policy.model import Decision
from addon.settings.load import load_policy
from addon.state import justifications
from addon.state.justifications import JustificationError
from tests.conftest import Workspace
from tests.support.store import made

TZ = dt.timezone(dt.timedelta(hours=-3))
TUESDAY_2PM = dt.datetime(2026, 11, 24, 14, 0, tzinfo=TZ).timestamp()
VIDEO = Decision("block", 2, ("video",), "bloqueado", "category.blocked", "youtube.com",
                 justifiable=True)
WHY = "treinamento do sistema SEI em vídeo"


@pytest.fixture
def env(any_ws: Workspace):  # noqa: ANN201
    policy = load_policy(any_ws.config, any_ws.root)
    c = made(policy.paths)
    yield c, policy
    c.close()


def test_a_justification_opens_the_listed_site_for_the_policys_minutes(env) -> None:  # noqa: ANN001
    conn, policy = env
    opened = justifications.justify(conn, policy, " Servidor ", "www.youtube.com", VIDEO,
                                    f"  {WHY}  ", client_ip="10.0.0.5", ref="ab12cd3-1f",
                                    now=TUESDAY_2PM)
    assert opened.domain == "youtube.com"  # the entry that classified it: its subdomains too
    assert opened.end == TUESDAY_2PM + 60 * 60
    [rel] = justifications.active_for_engine(conn, TUESDAY_2PM + 1)
    assert (rel.id, rel.kind, rel.target_kind, rel.target, rel.obj) == (
        opened.id, "justified", "user", "servidor", "youtube.com")
    assert rel.covers("m.youtube.com", ()) and not rel.covers("vimeo.com", ("video",))
    assert justifications.active_for_engine(conn, TUESDAY_2PM + 3600) == ()  # its hour is over
    [row] = justifications.listed(conn)
    assert (row["reason"], row["host"], row["client_ip"], row["ref"]) == (
        WHY, "www.youtube.com", "10.0.0.5", "ab12cd3-1f")
    assert json.loads(row["categories"]) == ["video"]
    entry = conn.execute("SELECT operator, action, subject FROM admin_log").fetchone()
    assert tuple(entry) == ("servidor", "justify", f"justification #{opened.id}")


@pytest.mark.parametrize("decision, reason, problem", [
    (VIDEO, "preciso", "at least 20 characters"),
    (VIDEO, "x" * 2001, "too long"),
    (Decision("block", 2, ("adult",), "bloqueado", "category.blocked", "pornhub.com"), WHY,
     "not justifiable"),
])
def test_what_a_justification_may_not_do(env, decision: Decision, reason: str,  # noqa: ANN001
                                         problem: str) -> None:
    conn, policy = env
    with pytest.raises(JustificationError, match=problem) as exc:
        justifications.justify(conn, policy, "servidor", "www.youtube.com", decision, reason,
                               now=TUESDAY_2PM)
    assert exc.value.for_user and "--" not in exc.value.for_user
    assert justifications.listed(conn) == []


def test_a_person_has_so_many_a_day_and_a_new_day_gives_them_back(env) -> None:  # noqa: ANN001
    conn, policy = env
    for i in range(policy.justify_per_day):
        justifications.justify(conn, policy, "servidor", "www.youtube.com", VIDEO, WHY,
                               now=TUESDAY_2PM + i)
    with pytest.raises(JustificationError, match="already used 5") as exc:
        justifications.justify(conn, policy, "servidor", "www.youtube.com", VIDEO, WHY,
                               now=TUESDAY_2PM + 10)
    assert "5 justificativas de hoje" in str(exc.value.for_user)
    # another person is not counted against; the next day (local midnight) starts again
    justifications.justify(conn, policy, "membro", "www.youtube.com", VIDEO, WHY,
                           now=TUESDAY_2PM)
    justifications.justify(conn, policy, "servidor", "www.youtube.com", VIDEO, WHY,
                           now=TUESDAY_2PM + 10 * 3600 + 1)  # 00:00:01 on Wednesday
    assert len(justifications.listed(conn, frozenset({"servidor"}))) == 6
    assert justifications.listed(conn, frozenset()) == []


def test_a_chief_revokes_one_and_may_count_it_as_a_violation_with_a_reason(env) -> None:  # noqa: ANN001
    conn, policy = env
    a = justifications.justify(conn, policy, "servidor", "www.youtube.com", VIDEO, WHY,
                               now=TUESDAY_2PM)
    with pytest.raises(JustificationError, match="needs a reason"):
        justifications.revoke(conn, a.id, "chefe", " ", violation=True, now=TUESDAY_2PM + 60)
    justifications.revoke(conn, a.id, "chefe", "vídeos de música, não de serviço",
                          violation=True, now=TUESDAY_2PM + 60)
    assert justifications.active_for_engine(conn, TUESDAY_2PM + 61) == ()
    row = justifications.fetch(conn, a.id)
    assert (row["revoked_by"], row["violation"], row["end"]) == ("chefe", 1, TUESDAY_2PM + 60)
    with pytest.raises(JustificationError, match="already revoked"):
        justifications.revoke(conn, a.id, "chefe", "de novo")
    with pytest.raises(JustificationError, match="no justification #999"):
        justifications.revoke(conn, 999, "chefe", "x")
    actions = [r[0] for r in conn.execute("SELECT action FROM admin_log ORDER BY id")]
    assert actions == ["justify", "justify.revoke"]
