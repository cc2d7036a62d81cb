"""Opening a test's state database the way a component does: made first, then connected.

A connection only checks the schema (addon/store/ready.py); each component's start makes
it. A test that opens the state directly is such a start.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from addon.policy.paths import Paths
from addon.state import db
from addon.store import ready


def made(where: Paths | Path, readonly: bool = False) -> sqlite3.Connection:
    """`db.connect`, after the databases of `where` (a policy's paths, or a state folder)
    were brought to this guarita's schema."""
    ready.ensure_at(where)
    return db.connect(where, readonly=readonly)
