"""Audit records: one tuple in schema column order, safe for any bytes a client sends.

Whatever an attacker puts in a method, path, Host header, CONNECT target or SNI
arrives here as text that may hold lone surrogates (mitmproxy decodes raw bytes
with `surrogateescape`) or control characters. SQLite cannot store the former
and auditors cannot read the latter, and one such record must never stop the
log. So every text field is made safe when the record is made, losslessly: a
clean value is kept as it is; anything else has its backslashes doubled and its
undecodable bytes and control characters written as `\\xNN`, so the raw bytes
can always be recovered and a clean value never looks like an escaped one.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import re
import secrets

from addon.policy.model import Decision, Identity


def _fresh_prefix() -> None:
    """Per process: a fork (worker processes) gets its own prefix and counter."""
    global _PREFIX, _COUNTER
    _PREFIX = f"{secrets.token_hex(2)}{os.getpid() % 4096:03x}"
    _COUNTER = itertools.count(1)


_PREFIX = ""
_COUNTER = itertools.count(1)
_fresh_prefix()
os.register_at_fork(after_in_child=_fresh_prefix)
# C0 and C1 controls, DEL, and the backslash (so that escaped text stays unambiguous)
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\\]")
MAX_FIELD = 4096  # characters kept of any one field; the rest is cut, and says so


def new_ref() -> str:
    """A short reference, unique per proxy run, printed on the block page and stored."""
    return f"{_PREFIX}-{next(_COUNTER):x}"  # no system call per request


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


@functools.lru_cache(maxsize=4096)
def _categories_json(categories: tuple[str, ...]) -> str:
    return json.dumps(list(categories))


def record(ts: float, ref: str, identity: Identity | None, d: Decision, method: str,
           scheme: str, host: str, port: int | None, path: str | None, status: int | None,
           bytes_in: int | None, bytes_out: int | None, duration_ms: float | None,
           client_ip: str | None) -> tuple[object, ...]:
    ident = identity or Identity(None)
    return (
        ts, ref, safe_text(ident.user), client_ip, ident.machine_level, ident.base_level,
        d.level, safe_text(method, 64), safe_text(scheme, 16), safe_text(host, 512), port,
        safe_text(path), status, d.action, d.rule,
        _categories_json(d.categories), d.release_id,
        bytes_in, bytes_out, duration_ms, ident.source,
    )
