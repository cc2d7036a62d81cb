"""What pruning leaves: the SQL clause for the records under a legal hold, shared by both
engines' pruning (addon/audit/query.py, addon/audit/pg.py)."""

from __future__ import annotations

from typing import Any

from addon.state.holds import Kept


def held_clause(kept: Kept) -> tuple[str, list[Any]]:
    """The clause that leaves the records of every subject under a hold (`AND NOT …`); a
    record with no user is no held person's (NOT (NULL IN …) would keep it)."""
    parts, args = [], []
    for column, values in (('"user"', kept.users), ("client_ip", kept.ips)):
        if values:
            parts.append(f"coalesce({column}, '') IN ({','.join('?' for _ in values)})")
            args.extend(sorted(values))
    return (f" AND NOT ({' OR '.join(parts)})", args) if parts else ("", [])
