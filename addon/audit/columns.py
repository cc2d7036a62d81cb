"""The audit log's columns, in order, with their types: the one declaration.

A module of its own, importing nothing, because the seals' arithmetic needs it in the
leaves helper (`addon/audit/hasher.py`), a process that should not load the policy stack.
"""

from __future__ import annotations

# Every column of the audit log, in order, with its type. APPEND-ONLY: a new column goes at
# the end (and into `record()`), with a revision in addon/store/migrations/versions/.
COLUMN_TYPES: tuple[tuple[str, type], ...] = (
    ("ts", float), ("ref", str), ("user", str), ("client_ip", str), ("machine_level", int),
    ("user_level", int), ("level", int), ("method", str), ("scheme", str), ("host", str),
    ("port", int), ("path", str), ("status", int), ("decision", str), ("rule", str),
    ("categories", str), ("release_id", int), ("bytes_in", int), ("bytes_out", int),
    ("duration_ms", float), ("source", str),
)
