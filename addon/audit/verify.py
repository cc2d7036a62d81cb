"""`guarita audit verify`: is the log what the writers sealed and signed?

Three passes, each over what the one before established:
1. **Seals**, chain by chain: numbers without gaps, each root the hash of its leaves, each
   digest following from the one before. A changed, removed or inserted seal breaks here.
2. **Checkpoints and the witness**: every signature valid; every checkpoint's digest the
   chain's digest at that seal; every line of the witness present in the database, unchanged,
   and reached by its chain (or the tail was cut). Pruning statements give the cut-offs.
3. **Records**, in id order: each one's hash the leaf its seal holds for it (a record that
   hashes to another leaf of its seal was moved: reordered); no record outside a seal
   (inserted) unless written before seals existed; every leaf with its record, unless its time
   is before a signed cut-off (pruned).

What it cannot show is written in docs/audit.md: a record never written, and the records
sealed after the last checkpoint the witness holds (counted, reported as not yet signed).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from addon.audit import seal, signing
from addon.audit.findings import Report, StoredSeal
from addon.audit.records_pass import check_records
from addon.audit.schema import BY_IDS

__all__ = ["Report", "StoredSeal", "verify"]

SEALS = ("SELECT chain, seq, first_id, last_id, min_ts, max_ts, leaves, root, digest "
         "FROM audit_seals ORDER BY chain, seq")
CHECKPOINTS = ("SELECT id, kind, chain, seq, ts, body, public_key, signature "
               "FROM audit_checkpoints ORDER BY id")
def _seals(conn: Any) -> dict[str, list[StoredSeal]]:
    chains: dict[str, list[StoredSeal]] = {}
    for r in conn.execute(SEALS):
        leaves = bytes(r[6]) if r[6] is not None else None
        s = StoredSeal(str(r[0]), int(r[1]), int(r[2]), int(r[3]), r[4], r[5], leaves,
                       str(r[7]), str(r[8]))
        chains.setdefault(s.chain, []).append(s)
    return chains


def check_chains(chains: dict[str, list[StoredSeal]], report: Report
                 ) -> dict[str, dict[int, str]]:
    """Pass 1: each chain's digests as they follow from its seals, by number."""
    heads: dict[str, dict[int, str]] = {}
    for name, seals in chains.items():
        report.chains += 1
        digests: dict[int, str] = {}
        prev = seal.GENESIS
        expected = 1
        for s in seals:
            report.seals += 1
            where = f"chain {name}, seal {s.seq} (records {s.first_id}–{s.last_id})"
            if s.seq != expected:
                report.problem(f"chain {name}: seal {expected}"
                               f"{'' if s.seq == expected + 1 else f'–{s.seq - 1}'} deleted "
                               f"(the chain goes from seal {expected - 1} to {s.seq})")
            if s.leaves is not None:
                if len(s.leaves) != seal.LEAF.size * (s.last_id - s.first_id + 1):
                    report.problem(f"{where}: its leaves do not match its records' range")
                if seal.root_of(s.leaves).hex() != s.root:
                    report.problem(f"{where}: modified (its leaves are not its root)")
            digest = seal.link(prev, name, s.seq, s.first_id, s.last_id, bytes.fromhex(s.root))
            if digest.hex() != s.digest:
                report.problem(f"{where}: modified (its digest does not follow from the seals "
                               "before it)")
            digests[s.seq] = digest.hex()
            prev, expected = digest, s.seq + 1
        heads[name] = digests
    return heads


def _entry_problem(entry: dict[str, Any]) -> str | None:
    """Why a stored or witnessed checkpoint cannot be trusted, or None."""
    body = str(entry.get("body", ""))
    if not signing.valid(str(entry.get("public_key", "")), body.encode(),
                         str(entry.get("signature", ""))):
        return "its signature is not valid"
    try:
        signed = json.loads(body)
    except ValueError:
        return "its signed body is not readable"
    for key in ("kind", "chain", "seq"):
        if signed.get(key) != entry.get(key):
            return f"its {key} is not the one signed"
    return None


def check_checkpoints(conn: Any, chains: dict[str, list[StoredSeal]],
                      heads: dict[str, dict[int, str]], witnessed: Sequence[dict[str, Any]],
                      report: Report) -> float:
    """Pass 2; returns the latest signed pruning cut-off (0 when nothing was pruned)."""
    cutoff = 0.0
    stored: list[dict[str, Any]] = []
    for r in conn.execute(CHECKPOINTS):
        entry = {"id": r[0], "kind": r[1], "chain": r[2], "seq": r[3], "ts": r[4],
                 "body": r[5], "public_key": r[6], "signature": r[7]}
        stored.append(entry)
        report.checkpoints += 1
        report.keys.add(str(r[6]))
        name = f"checkpoint #{r[0]} ({r[1]} of {r[2]}" + (f", seal {r[3]})" if r[3] else ")")
        why = _entry_problem(entry)
        if why:
            report.problem(f"{name}: replaced ({why})")
            continue
        signed = json.loads(entry["body"])
        if entry["kind"] == "prune":
            cutoff = max(cutoff, float(signed.get("before") or 0))
            continue
        _reaches(entry, signed, heads, name, report)
    signed_last: dict[str, int] = {}
    for entry in stored:
        if entry["kind"] == "checkpoint" and not _entry_problem(entry):
            signed_last[entry["chain"]] = max(signed_last.get(entry["chain"], 0), int(entry["seq"]))
    for name, seals in chains.items():
        last = signed_last.get(name, 0)
        report.unsigned += sum(s.last_id - s.first_id + 1 for s in seals if s.seq > last)
    by_signature = {e["signature"]: e for e in stored}
    for n, entry in enumerate(witnessed, 1):
        report.witnessed += 1
        name = f"witness line {n} ({entry.get('kind')} of {entry.get('chain')}" + (
            f", seal {entry.get('seq')})" if entry.get("seq") else ")")
        why = _entry_problem(entry)
        if why:
            report.problem(f"{name}: {why} (the witness was changed)")
            continue
        report.keys.add(str(entry["public_key"]))
        if entry["signature"] in by_signature:
            continue
        same = [e for e in stored if (e["kind"], e["chain"], e["seq"]) ==
                (entry["kind"], entry["chain"], entry["seq"])]
        signed = json.loads(entry["body"])
        if same:
            report.problem(f"{name}: replaced in the database (it differs from the witness)")
        elif entry["kind"] == "prune":
            report.problem(f"{name}: a pruning statement deleted from the database")
            cutoff = max(cutoff, float(signed.get("before") or 0))
        elif not _reaches(entry, signed, heads, name, report):
            pass  # _reaches said how the tail was cut
        else:
            report.problem(f"{name}: deleted from the database (the witness holds it)")
    return cutoff


def _reaches(entry: dict[str, Any], signed: dict[str, Any], heads: dict[str, dict[int, str]],
             name: str, report: Report) -> bool:
    chain, seq = str(entry["chain"]), int(entry["seq"])
    digests = heads.get(chain, {})
    if seq not in digests:
        last = max(digests) if digests else 0
        report.problem(f"{name}: tail cut — chain {chain} ends at seal {last}, but seal {seq} "
                       f"was signed at {_when(entry['ts'])}")
        return False
    if digests[seq] != signed.get("digest"):
        report.problem(f"{name}: the seals up to it were rewritten after it was signed")
    return True


def _when(ts: object) -> str:
    import datetime as dt

    try:
        return dt.datetime.fromtimestamp(float(ts), dt.UTC).isoformat(timespec="seconds")  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return "?"


def _stream(conn: Any, lo: int, hi: int, step: int = 50_000) -> Iterator[Sequence[Any]]:
    """Records in id order, in slices (a month does not sit in memory at once)."""
    start = lo
    while start <= hi:
        end = min(start + step - 1, hi)
        yield from conn.execute(BY_IDS, (start, end)).fetchall()
        start = end + 1


def verify(conn: Any, witnessed: Sequence[dict[str, Any]] = (),
           since: float | None = None, until: float | None = None) -> Report:
    """The whole check; `since`/`until` limit pass 3 to the seals of that time."""
    report = Report()
    chains = _seals(conn)
    heads = check_chains(chains, report)
    cutoff = check_checkpoints(conn, chains, heads, witnessed, report)
    origin = conn.execute("SELECT max(legacy_max_id) FROM audit_origin").fetchone()
    legacy_max = int(origin[0] or 0) if origin else 0
    seals = [s for group in chains.values() for s in group
             if (since is None or s.max_ts is None or s.max_ts >= since)
             and (until is None or s.min_ts is None or s.min_ts < until)]
    bounds = conn.execute("SELECT min(id), max(id) FROM audit").fetchone()
    ids = [int(b) for b in (bounds or ()) if b is not None]
    if since is not None or until is not None:
        if not seals:
            return report
        lo, hi = min(s.first_id for s in seals), max(s.last_id for s in seals)
        # the seals of those ids: whole blocks, so none reaches outside [lo, hi]
        seals = [s for group in chains.values() for s in group
                 if s.first_id <= hi and s.last_id >= lo]
    else:
        ranges = ids + [s.first_id for s in seals] + [s.last_id for s in seals]
        if not ranges:
            return report
        lo, hi = min(ranges), max(ranges)
    check_records(_stream(conn, lo, hi), seals, legacy_max, cutoff, report)
    return report
