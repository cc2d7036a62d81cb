"""Audit records: one tuple in schema column order, safe for any bytes a client sends.

Whatever an attacker puts in a method, path, Host header, CONNECT target or SNI is made
storable and readable text when the record is made (`addon.policy.text.safe_text`,
lossless), so one such record never stops the log.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import secrets

from addon.policy.model import Decision, Identity
from addon.policy.text import safe_text


def _fresh_prefix() -> None:
    """Per process: a fork (worker processes) gets its own prefix and counter."""
    global _PREFIX, _COUNTER
    _PREFIX = f"{secrets.token_hex(2)}{os.getpid() % 4096:03x}"
    _COUNTER = itertools.count(1)


_PREFIX = ""
_COUNTER = itertools.count(1)
_fresh_prefix()
os.register_at_fork(after_in_child=_fresh_prefix)
def new_ref() -> str:
    """A short reference, unique per proxy run, printed on the block page and stored."""
    return f"{_PREFIX}-{next(_COUNTER):x}"  # no system call per request


@functools.lru_cache(maxsize=4096)
def _categories_json(categories: tuple[str, ...]) -> str:
    return json.dumps(list(categories))


def record(ts: float, ref: str, identity: Identity | None, d: Decision, method: str,
           scheme: str, host: str, port: int | None, path: str | None, status: int | None,
           bytes_in: int | None, bytes_out: int | None, duration_ms: float | None,
           client_ip: str | None) -> tuple[object, ...]:
    ident = identity or Identity(None)
    # times as floats whatever the caller passed: the seal hashes the record as it is
    # here, and the columns store REAL (addon/audit/seal.py)
    return (
        float(ts), ref, safe_text(ident.user), client_ip, ident.machine_level, ident.base_level,
        d.level, safe_text(method, 64), safe_text(scheme, 16), safe_text(host, 512), port,
        safe_text(path), status, d.action, d.rule,
        _categories_json(d.categories), d.release_id,
        bytes_in, bytes_out, None if duration_ms is None else float(duration_ms), ident.source,
    )
