"""Art. 19 violations as every door counts them — the console, `guarita audit violations`
and the digests: the audit log's refusals in attempts (addon/audit/violations.py), less the
attempts a justification answered, plus the justifications a chief counted as violations
(addon/state/justifications.py), which live in the state database."""

from __future__ import annotations

from typing import Any

from addon.audit import violations
from addon.audit.query import Filters
from addon.policy.notify_settings import NotifySettings
from addon.state import explanations, justifications
from addon.state.explanations import ExplanationError


def count(audit: Any, state: Any, f: Filters, n: NotifySettings) -> list[violations.Violation]:
    users = f.users if f.users is not None else ((f.user.lower(),) if f.user else None)
    justified = justifications.for_counting(state, f.since, f.until, n.window, users)
    return violations.count(audit, f, n.rules, n.window, justified)


def explain(audit: Any, state: Any, n: NotifySettings, login: str, ref: str, text: str,
            since: float) -> int:
    """A person's explanation of one of their own attempts counted since `since` (by its
    first record's reference); another's, or one no rule counts, does not exist for them."""
    mine = {a.refs[0] for v in count(audit, state, Filters(user=login, since=since), n)
            for a in v.attempts if a.refs}
    if ref not in mine:
        raise ExplanationError(f"no violation {ref!r} of {login}",
                               "Não há essa violação entre as suas.")
    return explanations.add(state, login, ref, text)
