"""Audit records as the writer stores them: one tuple in schema column order."""

from __future__ import annotations

import itertools
import json
import os
import secrets

from addon.policy.model import Decision, Identity

_PREFIX = secrets.token_hex(2)
_COUNTER = itertools.count(1)


def new_ref() -> str:
    """A short reference, unique per proxy run, printed on the block page and stored."""
    return f"{_PREFIX}{os.getpid() % 4096:03x}-{next(_COUNTER):x}"


def record(ts: float, ref: str, identity: Identity | None, d: Decision, method: str,
           scheme: str, host: str, port: int, path: str | None, status: int | None,
           bytes_in: int | None, bytes_out: int | None, duration_ms: float | None,
           client_ip: str | None) -> tuple[object, ...]:
    ident = identity or Identity(None)
    return (
        ts, ref, ident.user, client_ip, ident.machine_level, ident.base_level, d.level, method,
        scheme, host, port, path, status, d.action, d.rule,
        json.dumps(list(d.categories)) if d.categories else "[]", d.release_id,
        bytes_in, bytes_out, duration_ms,
    )
