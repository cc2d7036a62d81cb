"""store.revisions: where a database stands, read without Alembic, and the history it names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from addon.store import revisions, upgrade
from addon.store.revisions import KNOWN, Standing, head, standing


def test_known_is_the_alembic_history_branch_by_branch_in_order() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(upgrade.MIGRATIONS))
    for branch, known in KNOWN.items():
        walked = [s.revision for s in script.walk_revisions(f"{branch}@base", f"{branch}@head")]
        assert tuple(reversed(walked)) == known
        assert all(r.startswith(branch[0]) for r in known)  # how a stranger's branch is told


def test_a_database_before_any_revision_lacks_them_all() -> None:
    for branch in KNOWN:
        at = standing(set(), branch)
        assert at == Standing(branch, None) and at.behind == len(KNOWN[branch])
        assert not at.current and not at.newer


def test_the_head_is_current_and_a_revision_this_guarita_never_heard_of_is_newer() -> None:
    assert standing({head("state"), head("audit")}, "state").current
    assert standing({"s9999", head("audit")}, "state").newer
    assert standing({"s9999"}, "state").behind == 0
    assert standing({"s9999"}, "audit") == Standing("audit", None)  # another branch's row


@given(st.sets(st.sampled_from([*KNOWN["state"], *KNOWN["audit"], "s9999", "a9999", "zz"])))
def test_a_branch_is_current_newer_or_behind_never_two(found: set[str]) -> None:
    for branch in KNOWN:
        at = standing(found, branch)
        assert [at.current, at.newer, at.behind > 0].count(True) == 1


def test_the_version_rows_are_read_with_the_plain_driver(tmp_path) -> None:  # noqa: ANN001
    import sqlite3

    conn = sqlite3.connect(tmp_path / "x.db")
    assert revisions.read_sqlite(conn) == set()
    upgrade.upgrade_sqlite(tmp_path / "x.db", "audit")
    assert revisions.read_sqlite(conn) == {head("audit")}


@pytest.mark.parametrize("branch", sorted(KNOWN))
def test_head_is_the_last_known(branch: str) -> None:
    assert head(branch) == KNOWN[branch][-1]
