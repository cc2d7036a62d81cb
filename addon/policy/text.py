"""Text a client sent, made safe to store and to show, losslessly.

Whatever an attacker puts in a method, path, Host header, CONNECT target or SNI
arrives as text that may hold lone surrogates (mitmproxy decodes raw bytes
with `surrogateescape`) or control characters. SQLite cannot store the former
and auditors cannot read the latter; a page must not show either. So a clean
value is kept as it is; anything else has its backslashes doubled and its
undecodable bytes and control characters written as `\\xNN`, so the raw bytes
can always be recovered and a clean value never looks like an escaped one.
The audit log and the block page use this one function.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the backslash (so that escaped text stays unambiguous)
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\\]")
MAX_FIELD = 4096  # characters kept of any one field; the rest is cut, and says so



def safe_text(value: str | bytes | None, limit: int = MAX_FIELD) -> str | None:
    """The value as storable, readable text; lossless up to `limit` characters."""
    if value is None:
        return None
    if isinstance(value, str):
        if not _UNSAFE.search(value) and (value.isascii() or _encodable(value)):
            return value if len(value) <= limit else _cut(value, limit)
        try:
            raw = value.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a surrogate that is not an escaped byte
            raw = value.encode("utf-8", "surrogatepass")
    else:
        raw = value
    text = raw.decode("utf-8", "backslashreplace") if b"\\" not in raw else (
        raw.replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace"))
    text = _UNSAFE.sub(_escape, text)
    return text if len(text) <= limit else _cut(text, limit)


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _escape(m: re.Match[str]) -> str:
    c = ord(m.group())
    if c == 0x5C:
        return "\\"  # already doubled above
    # C0 and DEL are bytes of their own (\xNN, never produced by an undecodable byte,
    # which is >= 0x80); C1 characters are two bytes in UTF-8, so they are \uNNNN.
    return f"\\x{c:02x}" if c < 0x80 else f"\\u{c:04x}"


def _cut(text: str, limit: int) -> str:
    return f"{text[:limit]}...[{len(text) - limit} more]"
