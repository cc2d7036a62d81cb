"""state.explanations: a person's word on a counted violation, kept beside it, never edited."""

from __future__ import annotations

import pytest

from addon.settings.load import load_policy
from addon.state import explanations
from addon.state.explanations import ExplanationError
from addon.store import seam
from tests.conftest import Workspace
from tests.support.store import made


@pytest.fixture
def conn(any_ws: Workspace):  # noqa: ANN201
    c = made(load_policy(any_ws.config, any_ws.root).paths)
    yield c
    c.close()


def test_explanations_add_up_per_attempt_and_are_kept_as_written(conn) -> None:  # noqa: ANN001
    explanations.add(conn, "servidor", "ab12-1", "  um link   num e-mail ", now=10.0)
    explanations.add(conn, "servidor", "ab12-1", "e avisei a TI", now=20.0)
    explanations.add(conn, "membro", "cd34-2", "pesquisa do parecer", now=30.0)
    assert explanations.of_people(conn, frozenset({"servidor"})) == {
        ("servidor", "ab12-1"): [(10.0, "um link num e-mail"), (20.0, "e avisei a TI")]}
    assert len(explanations.of_people(conn)) == 2
    assert explanations.of_people(conn, frozenset()) == {}
    actions = [r[0] for r in conn.execute("SELECT action FROM admin_log ORDER BY id")]
    assert actions == ["violation.explain"] * 3
    with pytest.raises(seam.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM explanations")


@pytest.mark.parametrize("text, problem", [(" \n ", "needs a text"), ("x" * 2001, "too long")])
def test_an_empty_or_endless_explanation_is_refused(conn, text: str,  # noqa: ANN001
                                                   problem: str) -> None:
    with pytest.raises(ExplanationError, match=problem) as exc:
        explanations.add(conn, "servidor", "ab12-1", text)
    assert exc.value.for_user
