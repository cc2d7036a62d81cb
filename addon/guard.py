"""Guard: the policy, the category index, the directory and a state snapshot, together.

Both `guarita check` and the proxy add-on ask their questions here, so the
answer on the command line is the answer on the wire. Nothing here touches
mitmproxy. Reloads build new immutable objects and swap one reference, so a
request in flight always sees one consistent policy; a broken policy file or
list keeps the last good one and reports why.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from addon.errors import DirectoryUnavailable, GuaritaError, UnknownUser
from addon.identity.directory import Directory, make_directory
from addon.policy import categories
from addon.policy.categories import CategoryIndex
from addon.policy.decide import decide
from addon.policy.load import load_policy
from addon.policy.model import Decision, Identity, Policy, Release
from addon.state import blocks, db, releases, sessions

log = logging.getLogger("guarita")
IDENTITY_MEMO_SECONDS = 5.0
MEMO_MAX = 100_000


@dataclass(frozen=True)
class Snapshot:
    """The state the proxy decides with, read in one go from the state database."""

    sessions: dict[str, str] = field(default_factory=dict)
    blocks: dict[tuple[str, str], str] = field(default_factory=dict)
    releases: tuple[Release, ...] = ()
    level4: dict[str, tuple[float, float, int]] = field(default_factory=dict)
    loaded_at: float = 0.0


def read_snapshot(conn: sqlite3.Connection, now: float | None = None) -> Snapshot:
    now = time.time() if now is None else now
    rels, level4 = releases.active_for_engine(conn, now)
    return Snapshot(sessions.active(conn, now), blocks.active(conn), rels, level4, now)


class Guard:
    def __init__(self, policy_path: Path | str, workdir: Path | None = None,
                 directory_factory: Callable[[Policy], Directory] | None = None) -> None:
        self.policy_path = Path(policy_path)
        self.workdir = workdir or Path.cwd()
        self._directory_factory = directory_factory or make_directory
        self.policy: Policy = load_policy(self.policy_path, self.workdir)
        self._policy_mtime = self._mtime()
        self.directory: Directory = self._directory_factory(self.policy)
        self.index: CategoryIndex = categories.load_or_compile(
            self.policy.paths.sources, self.policy.paths.index_file
        )
        self._index_fp = self.index.fingerprint
        self._conn = db.connect(self.policy.paths.state_dir)
        self._data_version = -1
        self.snapshot = Snapshot()
        self._lock = threading.Lock()
        # identity() per (login, address): the request path asks it for every request
        self._memo: dict[tuple[object, ...], tuple[Identity, float, float]] = {}
        self._memo_owner: tuple[object, object] = (None, None)
        self.refresh_state(force=True)

    # ---- reloads (called from a background thread by the proxy) ----
    def _mtime(self) -> float:
        try:
            return os.stat(self.policy_path).st_mtime_ns
        except OSError:
            return -1

    def refresh_policy(self) -> str | None:
        """Reload the policy if the file changed; on error keep the last good one and say why."""
        mtime = self._mtime()
        if mtime == self._policy_mtime:
            return None
        self._policy_mtime = mtime
        try:
            policy = load_policy(self.policy_path, self.workdir)
        except GuaritaError as exc:
            return f"policy not reloaded, keeping the last good one: {exc}"
        self.directory = self._directory_factory(policy)
        self.policy = policy
        self._index_fp = ""  # the list folders may have changed with it
        return "policy reloaded"

    def refresh_index(self) -> str | None:
        """Recompile and swap the category index if any list changed."""
        try:
            current = categories.fingerprint(self.policy.paths.sources)
            if current == self._index_fp:
                return None
            old = self.index
            self.index = categories.load_or_compile(
                self.policy.paths.sources, self.policy.paths.index_file
            )
            self._index_fp = current
            old.lookup.cache_clear()
            return f"category index reloaded ({self.index.entries_count} entries)"
        except (GuaritaError, OSError) as exc:
            return f"category lists not reloaded, keeping the last good index: {exc}"

    def refresh_state(self, force: bool = False) -> bool:
        """Re-read sessions, blocks and releases if another connection committed."""
        with self._lock:
            version = self._conn.execute("PRAGMA data_version").fetchone()[0]
            if not force and version == self._data_version:
                return False
            self._data_version = version
            self.snapshot = read_snapshot(self._conn)
            return True

    def connection(self) -> sqlite3.Connection:
        return self._conn

    # ---- identity ----
    def identity(self, user: str | None, client_ip: str | None, now: float,
                 groups: frozenset[str] | None = None) -> Identity:
        """Resolve a login (or the machine's session) to levels, groups and blocks.

        Raises UnknownUser or DirectoryUnavailable for the caller to decide how
        to fail (the proxy blocks, `check` exits 2).
        """
        snap, policy = self.snapshot, self.policy
        owner = self._memo_owner
        if owner[0] is not snap or owner[1] is not policy or len(self._memo) > MEMO_MAX:
            self._memo, self._memo_owner = {}, (snap, policy)
        key = (user, client_ip, groups)
        hit = self._memo.get(key)
        if hit is not None and hit[1] <= now < hit[2]:
            return hit[0]
        ident = self._resolve(snap, policy, user, client_ip, now, groups)
        # Valid until the state or policy changes (the memo is dropped), a level-4 release
        # starts, or IDENTITY_MEMO_SECONDS pass (so the directory's own TTL still rules).
        until = now + IDENTITY_MEMO_SECONDS
        l4 = snap.level4.get(ident.user) if ident.user else None
        if l4 is not None and now < l4[0]:
            until = min(until, l4[0])
        self._memo[key] = (ident, now, until)
        return ident

    def _resolve(self, snap: Snapshot, policy: Policy, user: str | None, client_ip: str | None,
                 now: float, groups: frozenset[str] | None) -> Identity:
        source = "given"
        if user is None and groups is None and client_ip is not None:
            user = snap.sessions.get(client_ip)
            source = "session"
        machine_level = policy.machine_level(client_ip)
        blocked_machine = snap.blocks.get(("machine", client_ip)) if client_ip else None
        if user is None and groups is None:
            return Identity(None, machine_level=machine_level, blocked_machine=blocked_machine)
        if groups is None:
            assert user is not None
            user = user.strip().lower()
            groups = self.directory.lookup(user).groups
            source = source if source == "session" else "directory"
        l4 = snap.level4.get(user) if user else None
        l4_until = l4[1] if l4 and l4[0] <= now else None
        return Identity(
            user=user,
            groups=groups,
            base_level=policy.level_for_groups(groups),
            special_groups=policy.special_for_groups(groups),
            level4_until=l4_until,
            level4_release=l4[2] if l4_until else None,
            machine_level=machine_level,
            blocked_user=snap.blocks.get(("user", user)) if user else None,
            blocked_machine=blocked_machine,
            source=source,
        )

    def decide(self, host: str, identity: Identity, now: float,
               client_ip: str | None = None) -> Decision:
        """Decide for a canonical host (already through normalize_host)."""
        return decide(self.policy, host, self.index.lookup(host), identity, now,
                      self.snapshot.releases, client_ip)

    def close(self) -> None:
        self._conn.close()
        self.index.close()


__all__ = ["Guard", "Snapshot", "read_snapshot", "UnknownUser", "DirectoryUnavailable"]
