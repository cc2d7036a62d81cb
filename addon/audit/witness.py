"""The witness: a file outside the database where every checkpoint and pruning statement
is appended, one JSON line each (`audit.witness`).

Whoever can write the database can rewrite its checkpoints, and whoever holds the node's
key can sign new ones; neither can take back the lines already on another volume or machine
(an NFS export with append-only rights, a `chattr +a` file, a syslog forwarder's file).
`guarita audit verify` compares the database with it: a checkpoint it holds must be in the
database, unchanged, and the chain must reach it.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any

from addon.errors import GuaritaError


def append(path: Path, entry: dict[str, Any]) -> None:
    """One line, written whole under a lock (several workers share the file), then synced."""
    line = (json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


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
