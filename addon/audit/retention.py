"""The retention (`audit.retention_days`, LGPD: no record kept longer than its purpose
needs): once a day the records older than it are pruned, except those of a person or a
machine under a legal hold (addon/state/holds.py); each pruning is in the admin history
with its cut-off, how many records left and which holds kept others.

It runs in the proxy's notifier thread of one worker (the one that sends mail), whether or
not notifications are on; several nodes pruning the same shared log find nothing to do
after the first.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from addon.audit import query, signing
from addon.audit.sealer import record_prune
from addon.policy.model import Policy
from addon.state import history, holds
from addon.store import files
from addon.store.seam import Connection
from addon.store.url import redact

DAY = 86400.0


class Retention:
    """Prunes at most once a day (the first round after a start, then every 24 hours)."""

    def __init__(self) -> None:
        self.last: float | None = None

    def due(self, now: float) -> bool:
        return self.last is None or now - self.last >= DAY

    def run(self, state: Connection, policy: Policy, now: float | None = None
            ) -> int | None:
        """Prune if due and the policy keeps records for a time; how many were pruned."""
        now = time.time() if now is None else now
        days = policy.audit_retention_days
        if days is None or not self.due(now):
            return None
        n = prune(state, policy, now - days * DAY, "retention")
        self.last = now  # only once it worked: a locked database is tried at the next round
        return n


def _writable(policy: Policy) -> Any:
    if policy.paths.database:
        from addon.store import pg

        return pg.connect(policy.paths.database)
    return files.open_file(policy.paths.audit_file, timeout=30, rows=False, shared=False)


def prune(state: Connection, policy: Policy, before: float, operator: str,
          on_progress: Callable[[int], None] | None = None) -> int:
    """Prune the audit log before `before`, holds kept; recorded in the admin history and,
    signed, beside the seals (the node's key is needed first: a pruning nobody signed
    would look like a deletion to `guarita audit verify`)."""
    key = signing.load_key(policy.paths.state_dir)
    kept = holds.kept(state)
    n = query.prune(policy.paths, before, on_progress=on_progress, kept=kept)
    conn = _writable(policy)
    try:
        record_prune(conn, key, policy.audit_witness, before, n, operator)
    finally:
        conn.close()
    when = dt.datetime.fromtimestamp(before, policy.calendar.tz).isoformat(timespec="seconds")
    with state:
        history.record(state, operator, "audit.prune", redact(str(policy.paths.audit_target)),
                       None,
                       {"before": when, "deleted": n, "held_users": sorted(kept.users),
                        "held_ips": sorted(kept.ips)})
    return n
