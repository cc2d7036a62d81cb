"""Forwarding as one service: the targets of the policy in force, their connections to the
databases, a round over all of them, and the drain at a stop.

Two hosts run it: the proxy, on a thread of worker 0 (addon/proxy/forwarder.py), and
`guarita forward run`, a process of its own for a node whose proxy should not spend any of
its core on it. Both call the same methods.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass

from addon.audit import query
from addon.errors import GuaritaError
from addon.forward.claim import Claim
from addon.forward.shipper import Shipper, shape_of
from addon.forward.transport import ForwardError
from addon.policy.model import Policy
from addon.policy.paths import Paths
from addon.settings.forward import ForwardTarget
from addon.state import db
from addon.store.seam import Connection, StoreError

log = logging.getLogger("guarita.forward")
DRAIN_SECONDS = 10.0


def _ignore(*args: object) -> None:
    return None


@dataclass
class Hooks:
    """What the host counts: messages sent, a target's trouble, its backlog, a failed round."""

    sent: Callable[[str, str, int], None] = _ignore  # target, kind, n
    error: Callable[[str], None] = _ignore  # target
    behind: Callable[[str, int], None] = _ignore  # target, records
    failed: Callable[[], None] = _ignore  # the databases could not be read


class Forwarding:
    def __init__(self, policy: Callable[[], Policy], hooks: Hooks | None = None) -> None:
        self.policy = policy
        self.hooks = hooks or Hooks()
        self.shippers: dict[str, tuple[ForwardTarget, Shipper, Claim]] = {}
        self._refused: dict[str, str] = {}  # targets that cannot start, and why (said once)
        self._paths: Paths | None = None
        self._state: Connection | None = None
        self._audit: Connection | None = None

    # ------------------------------------------------------------------ targets
    def sync(self) -> None:
        """The shippers of the policy in force: new targets start, changed ones restart."""
        policy = self.policy()
        if self._paths is not None and policy.paths != self._paths:
            self.disconnect()
        self._paths = policy.paths
        wanted = {t.name: t for t in policy.audit_forward}
        for name in list(self.shippers):
            target, shipper, claim = self.shippers[name]
            if wanted.get(name) != target:
                if shipper.link is not None:
                    shipper.link.close()
                claim.release()
                del self.shippers[name]
        for name, target in wanted.items():
            if name in self.shippers:
                continue
            try:
                shape = shape_of(target)
            except ForwardError as exc:
                if self._refused.get(name) != str(exc):
                    log.error("%s", exc)
                    self._refused[name] = str(exc)
                continue
            self._refused.pop(name, None)
            shipper = Shipper(target, shape, on_sent=functools.partial(self.hooks.sent, name),
                              on_error=functools.partial(self._trouble, name))
            self.shippers[name] = (target, shipper, Claim(policy.paths, name))

    def _trouble(self, name: str, line: str) -> None:
        self.hooks.error(name)

    # ------------------------------------------------------------------ connections
    def _connections(self) -> tuple[Connection | None, Connection]:
        assert self._paths is not None
        if self._state is None:
            self._state = db.connect(self._paths)
        if self._audit is None:
            self._audit = query.open_readonly(self._paths)  # None until the log exists
        return self._audit, self._state

    def disconnect(self) -> None:
        for _, _, claim in self.shippers.values():
            claim.release()
        for conn in (self._audit, self._state):
            if conn is not None:
                with contextlib.suppress(StoreError):
                    conn.close()
        self._audit = self._state = None

    def round(self) -> None:
        """One round over every target this process holds the claim of."""
        self.sync()
        if not self.shippers:
            return
        try:
            audit, state = self._connections()
            for name, (_, shipper, claim) in self.shippers.items():
                if not claim.take(state):
                    continue  # another worker or node forwards this one
                shipper.round(audit, state)
                self.hooks.behind(name, shipper.behind)
            for conn in (audit, state):
                if conn is not None:
                    conn.rollback()  # end the read: PostgreSQL's next round sees new commits
        except (StoreError, GuaritaError) as exc:
            self.hooks.failed()
            log.warning("forward: the databases cannot be read now (%s); trying again", exc)
            self.disconnect()

    def drain(self, timeout: float = DRAIN_SECONDS) -> None:
        """At a graceful stop, once the audit writer has written: what is left goes out."""
        try:
            self.sync()
            if self.shippers:
                audit, state = self._connections()
                for name, (_, shipper, claim) in self.shippers.items():
                    if claim.take(state) and not shipper.drain(audit, state, timeout):
                        log.warning("forward %s: stopped %d records behind; they go out at the "
                                    "next start", name, shipper.behind)
        except (StoreError, GuaritaError) as exc:
            log.warning("forward: not drained at stop (%s); the rest goes out at the next "
                        "start", exc)
        finally:
            self.disconnect()
