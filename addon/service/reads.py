"""Reading the audit log, for every door: the CLI, the console and the API ask here first.

`admit` is the one gate: a question about a named person or machine gives a case reference
when the policy says so, and every read is in the access log (addon/audit/access.py) before
any record is shown, so no door reads without leaving its trace.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from addon.audit import access
from addon.audit.query import Filters
from addon.policy.model import Policy


def read_of(reader: str, door: str, action: str, f: Filters | None = None,
            purpose: str | None = None, case_ref: str | None = None,
            **more: Any) -> access.Read:
    """A read described by its filters: the person or machine it names is its subject."""
    filters = {k: v for k, v in dataclasses.asdict(f).items()
               if v not in (None, ())} if f is not None else {}
    filters.update({k: v for k, v in more.items() if v is not None})
    return access.Read(reader=reader.lower(), door=door, action=action, filters=filters,
                       subject_user=(f.user.lower() if f is not None and f.user else None),
                       subject_ip=(f.ip if f is not None else None),
                       purpose=(purpose or "").strip() or None,
                       case_ref=(case_ref or "").strip() or None)


def admit(policy: Policy, state: Any, read: access.Read) -> None:
    """Refuse (GuaritaError) a read the policy does not allow as asked; record the others."""
    access.require_case(read, policy.audit_require_case)
    access.record(state, read)
