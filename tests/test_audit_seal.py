"""addon/audit/seal.py: the leaves the writer hashes are the leaves a stored row gives back."""

from __future__ import annotations

import sqlite3

from hypothesis import given, settings
from hypothesis import strategies as st

from addon.audit import seal
from addon.audit.record import record
from addon.audit.schema import COLUMN_TYPES, COLUMNS
from addon.policy.model import Decision, Identity

TEXT = st.text(max_size=40)


@settings(max_examples=150, deadline=None)
@given(user=st.one_of(st.none(), TEXT), host=TEXT, path=st.one_of(st.none(), TEXT),
       method=TEXT, ts=st.floats(1e9, 2e9), duration=st.one_of(st.none(), st.integers(0, 10**6),
                                                                st.floats(0, 1e6)),
       port=st.one_of(st.none(), st.integers(0, 65535)),
       cats=st.lists(st.sampled_from(["gov", "adult", "ação", "x"]), max_size=3))
def test_a_record_hashes_the_same_read_back_from_sqlite(user: str | None, host: str,
                                                        path: str | None, method: str, ts: float,
                                                        duration: float | None, port: int | None,
                                                        cats: list[str]) -> None:
    d = Decision("block", 2, tuple(cats), "r", "level.blocked")
    rec = record(ts, "ref-1", Identity(user, frozenset(), 2, source="basic"), d, method, "http",
                 host, port, path, 403, 1, 2, duration, "10.0.0.5")
    conn = sqlite3.connect(":memory:")
    kinds = {float: "REAL", int: "INTEGER", str: "TEXT"}
    conn.execute("CREATE TABLE audit (id INTEGER PRIMARY KEY, {})".format(
        ", ".join(f'"{n}" {kinds[k]}' for n, k in COLUMN_TYPES)))
    conn.execute("INSERT INTO audit ({}) VALUES ({})".format(
        ", ".join(f'"{c}"' for c in COLUMNS), ", ".join("?" for _ in COLUMNS)), rec)
    row = conn.execute("SELECT * FROM audit").fetchone()[1:]
    assert seal.leaves_of([rec]) == seal.leaves_of([seal.stored_fields(row)])


def test_postgresqls_categories_read_as_a_list_hash_as_the_text_written() -> None:
    rec = ("x",) * 15 + ('["gov", "a\\u00e7\\u00e3o"]',) + ("y",) * 5
    back = list(rec)
    back[15] = ["gov", "ação"]
    assert seal.stored_fields(tuple(back)) == rec
    back[15] = '["gov", "ação"]'  # JSONB's own spelling of the text
    assert seal.stored_fields(tuple(back)) == rec


def test_a_seal_binds_its_leaves_its_place_and_everything_before() -> None:
    leaves = seal.leaves_of([(1.0, "a"), (2.0, "b")])
    s1 = seal.make_seal(seal.GENESIS, "n:1", 1, 10, leaves)
    assert (s1.first_id, s1.last_id, s1.count) == (10, 11, 2)
    assert [t for t, _ in seal.unpack(leaves)] == [1.0, 2.0]
    s2 = seal.make_seal(s1.digest, "n:1", 2, 12, leaves)
    assert s2.digest != s1.digest and s2.root == s1.root
    for other in (seal.make_seal(seal.GENESIS, "n:2", 1, 10, leaves),  # another chain
                  seal.make_seal(seal.GENESIS, "n:1", 1, 11, leaves),  # other ids
                  seal.make_seal(seal.GENESIS, "n:1", 1, 10, leaves[::-1])):  # other leaves
        assert other.digest != s1.digest
