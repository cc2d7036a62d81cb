"""The witness: a file outside the database where every checkpoint and pruning statement
is appended, one JSON line each (`audit.witness`).

Whoever can write the database can rewrite its checkpoints, and whoever holds the node's
key can sign new ones; neither can take back the lines already on another volume or machine
(an NFS export with append-only rights, a `chattr +a` file, a syslog forwarder's file).
`guarita audit verify` compares the database with it: a checkpoint it holds must be in the
database, unchanged, and the chain must reach it. With `audit.email_checkpoints` the
committee's digest carries each period's lines too: a second witness in the committee's
mailboxes, checked with `guarita audit verify --witness FILE`.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any

from addon.errors import GuaritaError

PERIOD = ("SELECT kind, chain, seq, ts, body, public_key, signature FROM audit_checkpoints "
          "WHERE ts >= ? AND ts < ? ORDER BY id")


def line(entry: dict[str, Any]) -> str:
    """An entry as the witness holds it, one line of JSON."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"))


def append(path: Path, entry: dict[str, Any]) -> None:
    """One line, written whole under a lock (several workers share the file), then synced."""
    data = (line(entry) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def of_period(conn: Any, start: float, end: float) -> list[dict[str, Any]]:
    """What the committee's e-mail witnesses for a period (`audit.email_checkpoints`): each
    chain's last checkpoint of it and every pruning statement, as the witness's lines. The
    last checkpoint is enough: the chain must reach it, so it vouches for all before it."""
    last: dict[str, dict[str, Any]] = {}
    prunes = []
    for kind, chain, seq, ts, body, key, signature in conn.execute(PERIOD, (start, end)):
        entry = {"kind": kind, "chain": chain, "seq": seq, "ts": ts, "body": body,
                 "public_key": key, "signature": signature}
        if kind == "prune":
            prunes.append(entry)
        else:
            last[chain] = entry
    return [*last.values(), *prunes]


def read(path: Path) -> list[dict[str, Any]]:
    """Every entry; GuaritaError naming the line that is not one."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise GuaritaError(f"witness {path}: cannot read it ({exc})") from exc
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if not isinstance(entry, dict):
            raise GuaritaError(f"witness {path}, line {n}: not a checkpoint (the file was changed)")
        out.append(entry)
    return out
