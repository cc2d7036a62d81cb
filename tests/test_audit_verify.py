"""addon/audit/verify.py and `guarita audit verify`: on a real SQLite file and a real
PostgreSQL, each way of changing the log is named; untouched logs pass after a restart,
after pruning, and with several writers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest

from addon.audit import retention, signing, witness
from addon.audit.hasher import Hasher
from addon.audit.record import record
from addon.audit.sealer import Sealer
from addon.audit.writer import AuditWriter
from addon.policy.model import Decision, Identity, Policy
from addon.settings.load import load_policy
from addon.state import holds
from tests.conftest import Workspace, wait_until
from tests.support.store import made

DAY = 86400.0
BATCH = 10


def policy_of(ws: Workspace) -> Policy:
    policy = load_policy(ws.config, ws.root)
    made(policy.paths).close()
    return policy


def writer(policy: Policy) -> AuditWriter:
    return AuditWriter(policy.paths.audit_target, flush_interval=0.01,
                       sealer=Sealer(key=signing.load_key(policy.paths.state_dir),
                                     witness_file=policy.audit_witness, every=0))


def rec(i: int, user: str = "servidor", ts: float | None = None) -> tuple[object, ...]:
    d = Decision("allow", 2, ("government",), "r", "level.allowed")
    return record(time.time() if ts is None else ts, f"ref{i}",
                  Identity(user, frozenset(), 2, source="basic"), d, "GET", "http",
                  "www.gov.br", 80, f"/p{i}", 200, 10, 100, 1.5, "10.0.0.5")


def write_batches(policy: Policy, batches: int, user: str = "servidor",
                  ts: float | None = None) -> None:
    """`batches` seals of BATCH records, each signed and witnessed before the next."""
    w = writer(policy)
    lines = len(witness.read(policy.audit_witness)) if policy.audit_witness else 0
    for b in range(batches):
        for i in range(BATCH):
            w.put(rec(b * BATCH + i, user, ts))
        assert w.flush()
        want = lines + b + 1
        wait_until(lambda: len(witness.read(policy.audit_witness)) >= want,  # noqa: B023
                   what="a checkpoint witnessed")
    assert w.close() == 0


@contextmanager
def audit_db(policy: Policy) -> Iterator[Any]:
    if policy.paths.database:
        from addon.store import pg

        conn: Any = pg.connect(policy.paths.database)
    else:
        import sqlite3

        conn = sqlite3.connect(policy.paths.audit_file)
    with closing(conn):
        with conn:
            yield conn


def verify(ws: Workspace) -> tuple[int, str]:
    cp = ws.run("audit", "verify")
    assert "Traceback" not in cp.stderr, cp.stderr
    return cp.returncode, cp.stdout + cp.stderr


def test_an_untouched_log_passes(any_ws: Workspace) -> None:
    policy = policy_of(any_ws)
    write_batches(policy, 3)
    code, out = verify(any_ws)
    assert code == 0, out
    assert "intact: 30 records in 3 seals of 1 chains" in out and "3 in the witness" in out


def test_a_changed_column_is_named(any_ws: Workspace) -> None:
    policy = policy_of(any_ws)
    write_batches(policy, 2)
    with audit_db(policy) as conn:
        conn.execute("UPDATE audit SET host = 'outro.example' WHERE id = 5")
    code, out = verify(any_ws)
    assert code == 1 and out.startswith("TAMPERED: record 5: modified"), out


def test_a_deleted_row_is_named(any_ws: Workspace) -> None:
    policy = policy_of(any_ws)
    write_batches(policy, 2)
    with audit_db(policy) as conn:
        conn.execute("DELETE FROM audit WHERE id = 13")
    code, out = verify(any_ws)
    assert code == 1 and out.startswith("TAMPERED: record 13: deleted"), out


def test_an_inserted_row_is_named(any_ws: Workspace) -> None:
    policy = policy_of(any_ws)
    write_batches(policy, 2)
    with audit_db(policy) as conn:
        conn.execute("INSERT INTO audit (ts, ref, \"user\", host, categories) "
                     "VALUES (?, 'forjado', 'membro', 'evil.example', '[]')", (time.time(),))
    code, out = verify(any_ws)
    assert code == 1 and out.startswith("TAMPERED: record 21: inserted"), out


def test_two_swapped_rows_are_named_reordered(any_ws: Workspace) -> None:
    policy = policy_of(any_ws)
    write_batches(policy, 1)
    cols = ["ts", "ref", "path"]
    with audit_db(policy) as conn:
        a = conn.execute("SELECT ts, ref, path FROM audit WHERE id = 3").fetchone()
        b = conn.execute("SELECT ts, ref, path FROM audit WHERE id = 4").fetchone()
        sets = ", ".join(f"{c} = ?" for c in cols)
        conn.execute(f"UPDATE audit SET {sets} WHERE id = 3", tuple(b))
        conn.execute(f"UPDATE audit SET {sets} WHERE id = 4", tuple(a))
    code, out = verify(any_ws)
    assert code == 1, out
    assert out.startswith("TAMPERED: record 3: reordered (it holds what was written as record 4)")


def test_a_replaced_checkpoint_is_named(any_ws: Workspace) -> None:
    policy = policy_of(any_ws)
    write_batches(policy, 2)
    with audit_db(policy) as conn:  # a digest changed, signed again with a key of one's own
        row = conn.execute("SELECT id, body FROM audit_checkpoints WHERE seq = 1").fetchone()
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        forger = Ed25519PrivateKey.generate()
        body = str(row[1]).replace('"digest":"', '"digest":"00')[:-1]
        body = body[: body.index('"digest":"') + 10] + "0" * 64 + body[body.index('"kind"') - 2:]
        conn.execute("UPDATE audit_checkpoints SET body = ?, public_key = ?, signature = ? "
                     "WHERE id = ?", (body, signing.public_hex(forger),
                                      signing.sign(forger, body.encode()), row[0]))
    code, out = verify(any_ws)
    assert code == 1 and "replaced" in out.splitlines()[0], out


def test_a_cut_tail_is_named_against_the_witness(any_ws: Workspace) -> None:
    policy = policy_of(any_ws)
    write_batches(policy, 3)
    with audit_db(policy) as conn:  # the last batch, its seal and its checkpoint all gone
        conn.execute("DELETE FROM audit WHERE id > 20")
        conn.execute("DELETE FROM audit_seals WHERE seq = 3")
        conn.execute("DELETE FROM audit_checkpoints WHERE seq = 3")
    code, out = verify(any_ws)
    assert code == 1 and "tail cut" in out.splitlines()[0] and "ends at seal 2" in out, out


def test_pruning_keeps_the_log_verifiable_and_a_deletion_still_shows(any_ws: Workspace) -> None:
    policy = policy_of(any_ws)
    old = time.time() - 200 * DAY
    write_batches(policy, 1, "membro", old)
    write_batches(policy, 1, "servidor", old)  # held: stays
    write_batches(policy, 1, "membro")
    state = made(policy.paths)
    holds.add(state, "PAD-7/2026", "user", "servidor", None, "processo", "ti")
    assert retention.prune(state, policy, time.time() - 183 * DAY, "retention") == BATCH
    state.close()
    code, out = verify(any_ws)
    assert code == 0 and "10 records pruned by the retention" in out, out
    with audit_db(policy) as conn:
        assert conn.execute("SELECT count(*) FROM audit_seals WHERE leaves IS NULL"
                            ).fetchone()[0] == 1  # the pruned seal keeps only its root
        conn.execute("DELETE FROM audit WHERE id = 25")
    code, out = verify(any_ws)
    assert code == 1 and out.startswith("TAMPERED: record 25: deleted"), out


def test_a_log_pruned_to_nothing_never_gives_an_id_twice(any_ws: Workspace) -> None:
    """SQLite gives the next id after the largest present: with every record pruned, new
    records would sit inside the pruned seals. The sink starts after the last sealed id."""
    policy = policy_of(any_ws)
    write_batches(policy, 2, "membro", time.time() - 200 * DAY)
    state = made(policy.paths)
    assert retention.prune(state, policy, time.time() - 183 * DAY, "retention") == 2 * BATCH
    state.close()
    write_batches(policy, 1)
    with audit_db(policy) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM audit ORDER BY id")]
    assert ids == list(range(2 * BATCH + 1, 3 * BATCH + 1))
    code, out = verify(any_ws)
    assert code == 0 and "20 records pruned by the retention" in out, out


class CountingHasher(Hasher):
    def __init__(self) -> None:
        super().__init__(min_batch=20)
        self.helped = 0

    def leaves(self, count: int) -> bytes | None:
        got = super().leaves(count)
        self.helped += got is not None
        return got


def test_big_batches_hashed_by_the_helper_verify(any_ws: Workspace) -> None:
    """Batches the helper process hashed while the database wrote them: the same seals."""
    policy = policy_of(any_ws)
    helper = CountingHasher()
    w = AuditWriter(policy.paths.audit_target, flush_interval=0.05, min_batch=50,
                    sealer=Sealer(key=signing.load_key(policy.paths.state_dir),
                                  witness_file=policy.audit_witness, hasher=helper))
    for i in range(600):
        w.put(rec(i))
    assert w.close() == 0
    assert helper.helped >= 1 and helper._proc is None  # used, and ended with the writer
    code, out = verify(any_ws)
    assert code == 0 and "600 records" in out, out


def test_two_writers_at_once_two_chains(any_ws: Workspace) -> None:
    """Two nodes (or workers) writing one log: each its own chain, both verified."""
    policy = policy_of(any_ws)
    a, b = writer(policy), writer(policy)
    for i in range(200):
        (a if i % 2 else b).put(rec(i))
        if i % 50 == 0:
            time.sleep(0.02)
    assert a.close() == 0 and b.close() == 0
    code, out = verify(any_ws)
    assert code == 0 and "200 records" in out and "of 2 chains" in out, out


KILLED = """
import os, signal, sys, time
from addon.audit import signing
from addon.audit.sealer import Sealer
from addon.audit.writer import AuditWriter
from addon.settings.load import load_policy
from tests.test_audit_verify import rec
policy = load_policy(sys.argv[1])
w = AuditWriter(policy.paths.audit_target, flush_interval=0.01,
                sealer=Sealer(key=signing.load_key(policy.paths.state_dir),
                              witness_file=policy.audit_witness, every=3600))
for i in range(25):
    w.put(rec(i))
assert w.flush()
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_writer_killed_mid_chain_leaves_a_verifiable_log(ws: Workspace) -> None:
    """kill -9: the last seals were never signed; the next writer starts a chain of its own."""
    import subprocess
    import sys

    policy = policy_of(ws)
    cp = subprocess.run([sys.executable, "-c", KILLED, str(ws.config)], capture_output=True,
                        text=True, timeout=60, cwd=Path(__file__).parent.parent)
    assert cp.returncode == -9, cp.stderr
    write_batches(policy, 1)
    code, out = verify(ws)
    assert code == 0 and "of 2 chains" in out and "25 records sealed after" in out, out


def test_bad_times_are_bad_input(ws: Workspace) -> None:
    cp = ws.run("audit", "verify", "--since", "ontem")
    assert cp.returncode == 2 and "--since" in cp.stderr and "Traceback" not in cp.stderr


@pytest.mark.parametrize("lines", [["{not json"]])
def test_a_broken_witness_is_one_line(ws: Workspace, lines: list[str]) -> None:
    policy = policy_of(ws)
    write_batches(policy, 1)
    assert policy.audit_witness is not None
    policy.audit_witness.write_text("\n".join(lines) + "\n")
    cp = ws.run("audit", "verify")
    assert cp.returncode == 2 and "line 1" in cp.stderr and "Traceback" not in cp.stderr


def test_a_record_stored_coerced_is_sealed_as_stored(any_ws: Workspace) -> None:
    """A record the engine refuses as it is (a field of a type it does not know) is stored
    as text, and sealed as it was stored: the log still verifies."""
    policy = policy_of(any_ws)
    w = writer(policy)
    odd = list(rec(1))
    odd[9] = {"host": "não é texto"}  # type: ignore[call-overload]
    odd[10] = "80"
    w.put(rec(0))
    w.put(tuple(odd))
    assert w.close() == 0 and w.coerced >= 1
    code, out = verify(any_ws)
    assert code == 0 and "intact: 2 records" in out, out


def test_since_checks_only_the_records_of_that_time(ws: Workspace) -> None:
    policy = policy_of(ws)
    write_batches(policy, 1, "membro", time.time() - 10 * DAY)
    write_batches(policy, 1)
    with audit_db(policy) as conn:
        conn.execute("UPDATE audit SET host = 'outro.example' WHERE id = 3")  # the old batch
    since = time.strftime("%Y-%m-%d", time.localtime(time.time() - DAY))
    cp = ws.run("audit", "verify", "--since", since)
    assert cp.returncode == 0 and "intact: 10 records" in cp.stdout, cp.stdout + cp.stderr
    code, out = verify(ws)
    assert code == 1 and out.startswith("TAMPERED: record 3: modified"), out
