"""service.admin: IT's blocks and level 4, the same fields and checks from every door."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from addon.errors import DirectoryUnavailable, StateError, UnknownUser
from addon.identity.static import StaticDirectory
from addon.service import admin
from addon.service.inputs import InvalidInput
from addon.settings.load import load_policy
from addon.state import blocks, releases
from tests.conftest import Workspace
from tests.support.store import made


@pytest.fixture
def env(any_ws: Workspace):  # noqa: ANN201
    policy = load_policy(any_ws.config, any_ws.root)
    return policy, StaticDirectory(policy), made(policy.paths)


def test_a_block_and_its_lifting_keep_who_and_why(env) -> None:  # noqa: ANN001
    policy, directory, conn = env
    bid, unchecked = admin.block(conn, directory, "ti.joao",
                                 {"tipo": "user", "alvo": " Estagiario ", "motivo": "Art. 19"})
    assert unchecked is None and blocks.active(conn) == {("user", "estagiario"): "Art. 19"}
    with pytest.raises(StateError) as again:
        admin.block(conn, directory, "ti.joao", {"tipo": "user", "alvo": "estagiario",
                                                 "motivo": "de novo"})
    assert again.value.for_user == f"A conta estagiario já está bloqueada (bloqueio nº {bid})."
    admin.unblock(conn, "ti.joao", {"tipo": "user", "alvo": "estagiario",
                                    "autorizado_por": "SubPGJ"})
    assert blocks.active(conn) == {}
    assert blocks.listing(conn, include_lifted=True)[0]["authorized_by"] == "SubPGJ"


@pytest.mark.parametrize("data, field", [
    ({"tipo": "user", "alvo": "estagiario", "motivo": "  "}, "motivo"),
    ({"tipo": "conta", "alvo": "estagiario", "motivo": "x"}, "tipo"),
    ({"tipo": "machine", "alvo": "10.0.0.999", "motivo": "x"}, "alvo"),
    ({"tipo": "user", "alvo": 3, "motivo": "x"}, "alvo"),
    ({"tipo": "user", "motivo": "x"}, "alvo"),
    ([1], "corpo"),
])
def test_bad_fields_are_named_and_nothing_is_blocked(env, data: object, field: str) -> None:  # noqa: ANN001
    _, directory, conn = env
    with pytest.raises(InvalidInput) as err:
        admin.block(conn, directory, "ti", data)
    assert err.value.field == field and blocks.active(conn) == {}


def test_an_unknown_login_is_not_blocked_and_a_silent_directory_does_not_hold_it_up(
        env) -> None:  # noqa: ANN001
    _, directory, conn = env
    with pytest.raises(UnknownUser) as err:
        admin.block(conn, directory, "ti", {"tipo": "user", "alvo": "servidr", "motivo": "x"})
    assert err.value.for_user == "O diretório não conhece este usuário."

    class Away:
        def lookup(self, login: str) -> None:
            raise DirectoryUnavailable("ldap://dc1: timed out")

    _, unchecked = admin.block(conn, Away(), "ti",  # type: ignore[arg-type]
                               {"tipo": "user", "alvo": "servidr", "motivo": "incidente"})
    assert isinstance(unchecked, DirectoryUnavailable)
    assert ("user", "servidr") in blocks.active(conn)
    bid, _ = admin.block(conn, directory, "ti", {"tipo": "machine", "alvo": "::ffff:10.0.0.5",
                                                 "motivo": "malware"})
    assert ("machine", "10.0.0.5") in blocks.active(conn)  # the address as the proxy sees it
    assert bid > 0


def test_level4_ends_at_the_end_of_the_day_given_and_needs_the_committee(env) -> None:  # noqa: ANN001
    policy, directory, conn = env
    day = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    rid, until, _ = admin.grant_level4(conn, policy, directory, "ti",
                                       {"usuario": "membro", "ate": day, "comite": "CGAI-1",
                                        "motivo": "pesquisa"})
    end = dt.datetime.fromtimestamp(until, policy.calendar.tz)
    assert (end.date().isoformat(), end.hour, end.minute) == (day, 23, 59)
    row = releases.fetch(conn, rid)
    assert (row["kind"], row["target"], row["committee_ref"]) == ("level", "membro", "CGAI-1")
    for data, field in (({"usuario": "membro", "ate": "31/12/2030", "comite": "c", "motivo": "m"},
                         "ate"),
                        ({"usuario": "membro", "ate": day, "comite": " ", "motivo": "m"}, "comite")):
        with pytest.raises(InvalidInput) as err:
            admin.grant_level4(conn, policy, directory, "ti", data)
        assert err.value.field == field
    past = dt.date.fromtimestamp(time.time() - 86400 * 2).isoformat()
    with pytest.raises(releases.ReleaseError) as err2:
        admin.grant_level4(conn, policy, directory, "ti",
                           {"usuario": "membro", "ate": past, "comite": "c", "motivo": "m"})
    assert err2.value.for_user == "O nível 4 deve terminar numa data futura."
