"""audit.record: safe text is storable, readable and lossless for any input."""

from __future__ import annotations

import re
import sqlite3

from hypothesis import given
from hypothesis import strategies as st

from addon.audit.record import new_ref
from addon.policy.text import MAX_FIELD, safe_text


def unescape(text: str) -> bytes:
    """The inverse of safe_text's escaping, for the test: back to the raw bytes."""
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            nxt = text[i + 1]
            if nxt == "\\":
                out += b"\\"
                i += 2
            elif nxt == "x":
                out.append(int(text[i + 2 : i + 4], 16))
                i += 4
            else:  # \uNNNN
                out += chr(int(text[i + 2 : i + 6], 16)).encode()
                i += 6
        else:
            out += c.encode()
            i += 1
    return bytes(out)


@given(st.binary(max_size=200))
def test_any_bytes_round_trip_and_store(raw: bytes) -> None:
    text = safe_text(raw)
    assert text is not None
    assert not re.search(r"[\x00-\x1f\x7f-\x9f]", text)  # readable
    sqlite3.connect(":memory:").execute("SELECT ?", (text,))  # storable
    if b"\\" in raw or not raw.isascii() or re.search(rb"[\x00-\x1f\x7f]", raw):
        assert unescape(text) == raw  # lossless


@given(st.text(max_size=100))
def test_clean_text_is_kept_as_it_is(text: str) -> None:
    if not re.search(r"[\x00-\x1f\x7f-\x9f\\\ud800-\udfff]", text):
        assert safe_text(text) == text


def test_surrogate_escaped_strings_as_mitmproxy_decodes_them() -> None:
    method = b"G\xffT".decode("utf-8", "surrogateescape")
    assert safe_text(method) == "G\\xffT" and unescape(safe_text(method)) == b"G\xffT"


def test_long_fields_are_cut_and_say_so() -> None:
    text = safe_text("a" * (MAX_FIELD + 10))
    assert text.endswith("...[10 more]") and len(text) < MAX_FIELD + 20


def test_refs_are_unique() -> None:
    assert len({new_ref() for _ in range(1000)}) == 1000
