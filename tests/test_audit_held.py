"""audit.held: the clause pruning adds for the records under a legal hold."""

from __future__ import annotations

import sqlite3

from addon.audit.held import held_clause
from addon.state.holds import NOBODY, Kept


def test_nobody_held_adds_nothing_and_a_hold_keeps_its_subjects_only() -> None:
    assert held_clause(NOBODY) == ("", [])
    clause, args = held_clause(Kept(frozenset({"ana", "bia"}), frozenset({"10.0.0.5"})))
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE audit (user TEXT, client_ip TEXT)")
    conn.executemany("INSERT INTO audit VALUES (?, ?)", [
        ("ana", "10.0.0.1"), ("caio", "10.0.0.5"), ("caio", "10.0.0.2"), (None, "10.0.0.3"),
        (None, "10.0.0.5")])
    gone = conn.execute(f"SELECT \"user\", client_ip FROM audit WHERE 1 = 1{clause}",  # noqa: S608
                        args).fetchall()
    assert gone == [("caio", "10.0.0.2"), (None, "10.0.0.3")]  # no user is nobody's hold
    assert args == ["ana", "bia", "10.0.0.5"]
