"""The runtime: policy, directory, category index and state snapshot, as one immutable value.

Every question the proxy and `guarita check` ask goes to a `Runtime`, so the
answer on the command line is the answer on the wire. A reload never edits a
runtime: `RuntimeSource.refresh` builds a new one and swaps a single reference,
so a request in flight sees one consistent policy, directory, index and state
from start to end, and anything derived from them (the identity memo) dies with
them. A broken policy file or list keeps the last good runtime and says why.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from addon.errors import CategoryError, GuaritaError
from addon.identity.directory import Directory
from addon.identity.negotiate import Acceptor
from addon.identity.registry import make_directory
from addon.lists import shared
from addon.lists.apart import compile_apart
from addon.lists.compiler import policy_index
from addon.policy import categories
from addon.policy.categories import CategoryIndex
from addon.policy.decide import decide
from addon.policy.holiday_table import compute
from addon.policy.hosts import host_suffixes
from addon.policy.model import Decision, Identity, Policy, Release
from addon.settings.load import HolidaySource, load_policy
from addon.state import blocks, db, justifications, releases, requests, sessions
from addon.store import ready
from addon.store.seam import Connection, StoreError

log = logging.getLogger("guarita")
IDENTITY_MEMO_SECONDS = 5.0  # the directory's own cache still rules beyond this
MEMO_MAX = 100_000


@dataclass(frozen=True)
class Snapshot:
    """The state the proxy decides with, read in one transaction from the state database."""

    sessions: dict[str, str] = field(default_factory=dict)
    blocks: dict[tuple[str, str], str] = field(default_factory=dict)
    releases: tuple[Release, ...] = ()
    level4: dict[str, tuple[float, float, int]] = field(default_factory=dict)
    loaded_at: float = 0.0
    denials: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)


def read_snapshot(conn: Connection, now: float | None = None) -> Snapshot:
    now = time.time() if now is None else now
    conn.execute("BEGIN")  # one read transaction: sessions, blocks, releases of one moment
    try:
        rels, level4 = releases.active_for_engine(conn, now)
        rels += justifications.active_for_engine(conn, now)
        return Snapshot(sessions.active(conn, now), blocks.active(conn), rels, level4, now,
                        requests.recent_denials(conn, now))
    finally:
        conn.rollback()


@dataclass(frozen=True)
class Runtime:
    policy: Policy
    directory: Directory
    index: CategoryIndex
    snapshot: Snapshot
    negotiate: Acceptor | None = field(default=None, compare=False)  # Kerberos, when configured
    # identity() per (login, address, groups): valid for this runtime only
    _memo: dict[tuple[object, ...], tuple[Identity, float, float]] = field(
        default_factory=dict, compare=False, repr=False)

    def with_snapshot(self, snapshot: Snapshot) -> Runtime:
        return dataclasses.replace(self, snapshot=snapshot, _memo={})

    def identity(self, user: str | None, client_ip: str | None, now: float,
                 groups: frozenset[str] | None = None, proof: str = "directory") -> Identity:
        """Resolve a login (or the machine's session) to levels, groups and blocks.

        `proof` says how a given login was proven (`basic`, `kerberos`): the audit log
        keeps it as the identity's source. Raises UnknownUser or DirectoryUnavailable
        for the caller to decide how to fail (the proxy blocks, `check` exits 2).
        """
        memo = self._memo
        key = (user, client_ip, groups, proof)
        hit = memo.get(key)
        if hit is not None and hit[1] <= now < hit[2]:
            return hit[0]
        ident = self._resolve(user, client_ip, now, groups, proof)
        until = now + IDENTITY_MEMO_SECONDS
        l4 = self.snapshot.level4.get(ident.user) if ident.user else None
        if l4 is not None and now < l4[0]:
            until = min(until, l4[0])  # a level-4 assignment that starts later
        if len(memo) >= MEMO_MAX:
            memo.clear()
        memo[key] = (ident, now, until)
        return ident

    def _resolve(self, user: str | None, client_ip: str | None, now: float,
                 groups: frozenset[str] | None, proof: str) -> Identity:
        snap, policy = self.snapshot, self.policy
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
            source = source if source == "session" else proof
        # Directory group names compare case-insensitively (AD says GRP-Servidores, the
        # policy grp-servidores): the policy's names are case-folded when it is loaded.
        groups = frozenset(g.casefold() for g in groups)
        l4 = snap.level4.get(user) if user else None
        l4_until = l4[1] if l4 and l4[0] <= now else None
        return Identity(
            user=user,
            groups=groups,
            base_level=policy.level_for_groups(groups),
            special_groups=policy.special_for_groups(groups),
            level4_until=l4_until,
            level4_release=l4[2] if l4 and l4_until else None,
            machine_level=machine_level,
            blocked_user=snap.blocks.get(("user", user)) if user else None,
            blocked_machine=blocked_machine,
            source=source,
        )

    def denial(self, user: str | None, host: str) -> tuple[int, str] | None:
        """The user's latest denied request for this host or a parent domain, if any."""
        if not user or not self.snapshot.denials:
            return None
        for name in host_suffixes(host):
            found = self.snapshot.denials.get((user, name))
            if found is not None:
                return found
        return None

    def decide(self, host: str, identity: Identity, now: float,
               client_ip: str | None = None) -> Decision:
        """Decide for a canonical host (already through normalize_host)."""
        return decide(self.policy, host, self.index.lookup(host), identity, now,
                      self.snapshot.releases, client_ip)


class RuntimeSource:
    """Builds the first runtime and, on `refresh`, the next one when anything changed.

    `current` is the one reference readers take; only `refresh` (one thread) writes it.
    """

    def __init__(self, policy_path: Path | str, workdir: Path | None = None,
                 directory_factory: Callable[[Policy], Directory] | None = None,
                 acceptor_factory: Callable[[Policy], Acceptor | None] | None = None,
                 holidays: HolidaySource = compute) -> None:
        self.policy_path = Path(policy_path)
        self.workdir = workdir or Path.cwd()
        self._directory_factory = directory_factory or make_directory
        # Only the proxy checks Kerberos tickets; the CLI never needs the keytab.
        self._acceptor_factory = acceptor_factory or (lambda policy: None)
        self._holidays = holidays  # `table_apart` in the daemons: no `holidays` import there
        policy = load_policy(self.policy_path, self.workdir, holidays=holidays)
        self._policy_mtime = self._mtime()
        ready.ensure(policy.paths)  # the runtime's start: a new folder gets its databases
        self._conn = db.connect(policy.paths)
        try:
            shared.sync(self._conn, policy.paths)  # lists other nodes published meanwhile
        except (StoreError, OSError, zlib.error) as exc:
            log.error("guarita: shared category lists not adopted: %s", exc)
        index = policy_index(policy.paths, compile_apart)
        self._index_fp = index.fingerprint
        self._data_version = self._version()
        self._lock = threading.Lock()
        self.broken: str | None = None  # why the files on disk are not in force, if they are not
        self.state_down: str | None = None  # why the state database cannot be read, if it cannot
        self.loaded_at = time.time()
        self.current = Runtime(policy, self._directory_factory(policy), index,
                               read_snapshot(self._conn), self._acceptor_factory(policy))

    def _mtime(self) -> int:
        try:
            return os.stat(self.policy_path).st_mtime_ns
        except OSError:
            return -1

    def _version(self) -> int:
        return db.data_version(self._conn)

    def refresh(self, force_state: bool = False, force_policy: bool = False) -> list[str]:
        """Adopt whatever changed on disk; returns what happened, one line each.

        Policy, lists and state are read first and swapped in together, so no request
        ever sees a new policy with an old index, or a new block a second late.
        """
        with self._lock:
            rt, said = self.current, []
            policy, directory, index, acceptor = rt.policy, rt.directory, rt.index, rt.negotiate
            mtime = self._mtime()
            if force_policy or mtime != self._policy_mtime:
                self._policy_mtime = mtime
                try:
                    new = load_policy(self.policy_path, self.workdir, holidays=self._holidays)
                    # all three or none: a keytab it cannot use keeps the old policy too
                    directory, acceptor = self._directory_factory(new), self._acceptor_factory(new)
                    policy = new
                    said.append("policy reloaded" + (" (fixed: adopted again)"
                                                     if self.broken else ""))
                    self.broken = None
                except GuaritaError as exc:
                    self.broken = str(exc)
                    said.extend(f"policy not reloaded, keeping the last good one: {mistake}"
                                for mistake in str(exc).splitlines())  # one line each
            try:
                version = self._version()
            except StoreError as exc:  # PostgreSQL away: decide from the last snapshot
                version = self._data_version
                if self.state_down is None:
                    said.append(f"state database unreachable, keeping the last snapshot: {exc}")
                self.state_down = str(exc)
            else:
                if self.state_down is not None:
                    said.append("state database reachable again")
                    self.state_down, force_state = None, True
            state_changed = force_state or version != self._data_version
            self._data_version = version
            if state_changed:  # a list another node published: written here before the check
                try:
                    for key in shared.sync(self._conn, policy.paths):
                        said.append(f"shared category list adopted: {key}")
                except (StoreError, OSError, zlib.error) as exc:
                    said.append(f"shared category lists not adopted, keeping the last good "
                                f"index: {exc}")
            try:
                fp = categories.fingerprint(policy.paths.watched)
                if fp != self._index_fp:
                    index = policy_index(policy.paths, compile_apart)
                    self._index_fp = fp
                    said.append(f"category index reloaded ({index.entries_count} entries)")
            except (CategoryError, OSError) as exc:
                said.append(f"category lists not reloaded, keeping the last good index: {exc}")
            changed = policy is not rt.policy or index is not rt.index
            if not (changed or state_changed):
                return said
            snapshot = read_snapshot(self._conn) if state_changed else rt.snapshot
            self.current = Runtime(policy, directory, index, snapshot, acceptor)
            self.loaded_at = time.time()
            return said

    def connection(self) -> Connection:
        """The state database, for the thread that calls `refresh` (tests, `check`)."""
        return self._conn

    def close(self) -> None:
        self._conn.close()
