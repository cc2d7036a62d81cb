"""formtoken: a block page's justification form is that person's, for that site, for an hour."""

from __future__ import annotations

import stat
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from addon.proxy import formtoken

KEY = b"k" * 32


def test_the_key_is_made_once_readable_by_its_owner_only(tmp_path: Path) -> None:
    first = formtoken.load_key(tmp_path / "var")
    assert len(first) == 32 and formtoken.load_key(tmp_path / "var") == first
    mode = (tmp_path / "var" / "form.key").stat().st_mode
    assert not mode & (stat.S_IRWXG | stat.S_IRWXO)
    assert [p.name for p in (tmp_path / "var").iterdir()] == ["form.key"]  # nothing aside


def test_a_token_holds_for_its_person_and_site_for_an_hour() -> None:
    t = formtoken.issue(KEY, "servidor", "www.youtube.com", 1000.0)
    assert formtoken.valid(KEY, t, "servidor", "www.youtube.com", 1000.0 + 3600)
    assert not formtoken.valid(KEY, t, "servidor", "www.youtube.com", 1000.0 + 3601)
    assert not formtoken.valid(KEY, t, "membro", "www.youtube.com", 1000.0)
    assert not formtoken.valid(KEY, t, "servidor", "vimeo.com", 1000.0)
    assert not formtoken.valid(b"x" * 32, t, "servidor", "www.youtube.com", 1000.0)


@given(st.text(max_size=80))
def test_anything_else_a_client_sends_is_no_token(garbage: str) -> None:
    assert not formtoken.valid(KEY, garbage, "servidor", "www.youtube.com", 1000.0)
