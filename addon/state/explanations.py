"""A person's explanations of the violations counted against them (Art. 19; LGPD Art. 18):
written in "Meus dados", read by their chief beside each attempt in the console.

Keyed by the attempt's first record's reference (what the chief's table links), so an
explanation stays with its attempt whatever the count of the period. Append-only (triggers
refuse UPDATE and DELETE): a second explanation adds to the first, it never replaces it.
"""

from __future__ import annotations

import time
from collections import defaultdict

from addon.errors import GuaritaError
from addon.state import history
from addon.store.seam import Connection, insert_returning_id

MAX_TEXT = 2000


class ExplanationError(GuaritaError):
    """An explanation that cannot be kept; `for_user` is the person's to read."""


def add(conn: Connection, login: str, ref: str, text: str,
        now: float | None = None) -> int:
    body = " ".join(text.split())
    if not body:
        raise ExplanationError("an explanation needs a text", "Escreva a sua explicação.")
    if len(body) > MAX_TEXT:
        raise ExplanationError("the explanation is too long",
                               f"A explicação passa de {MAX_TEXT} caracteres.")
    at = time.time() if now is None else now
    with conn:
        eid = insert_returning_id(
            conn, "INSERT INTO explanations (login, ref, text, at) VALUES (?, ?, ?, ?)",
            (login, ref, body, at))
        history.record(conn, login, "violation.explain", f"attempt {ref}", None,
                       {"text": body})
    return eid


def of_people(conn: Connection, logins: frozenset[str] | None = None
              ) -> dict[tuple[str, str], list[tuple[float, str]]]:
    """(login, ref) -> [(when, text), ...] oldest first; of these people, when given."""
    sql, args = "SELECT login, ref, text, at FROM explanations", []
    if logins is not None:
        if not logins:
            return {}
        sql += f" WHERE login IN ({', '.join('?' for _ in logins)})"
        args = sorted(logins)
    out: dict[tuple[str, str], list[tuple[float, str]]] = defaultdict(list)
    for r in conn.execute(sql + " ORDER BY id", args):
        out[(r["login"], r["ref"])].append((float(r["at"]), r["text"]))
    return dict(out)
