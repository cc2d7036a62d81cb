"""IT's actions, as every door takes them: blocking and unblocking an account or a machine
(Art. 9 §4 I, Art. 11 §7, Art. 19) and level 4 with its end (Art. 9 §4 V).

The command line, the console's page and the API send the same fields and get the same
checks: a reason for a block, who authorised lifting it, a committee decision and a future
end for level 4, and a login the directory knows (a typo during an incident must not leave
the person unblocked while IT thinks otherwise; a directory that does not answer does not
hold an incident up, and the caller is told it was not checked).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import Field

from addon.errors import DirectoryUnavailable, GuaritaError
from addon.identity.directory import Directory
from addon.policy.hosts import canonical_ip
from addon.policy.model import Policy
from addon.service.inputs import Input, InvalidInput, Motive, parse, written
from addon.state import blocks, releases
from addon.store.seam import Connection

Name = Annotated[str, Field(max_length=200), written("campo obrigatório")]


class BlockInput(Input):
    tipo: Literal["user", "machine"]
    alvo: Name
    motivo: Motive


class UnblockInput(Input):
    tipo: Literal["user", "machine"]
    alvo: Name
    autorizado_por: Name


class Level4Input(Input):
    usuario: Name
    ate: Name  # a date (the end of that day) or a date and time, local to the policy
    comite: Name
    motivo: Motive


def block(conn: Connection, directory: Directory, operator: str, data: Any
          ) -> tuple[int, DirectoryUnavailable | None]:
    """Block; the block's number, and why the login was not checked, if it was not."""
    b = parse(BlockInput, data)
    subject, warning = _subject(b.tipo, b.alvo, directory)
    return blocks.block(conn, b.tipo, subject, b.motivo, operator), warning


def unblock(conn: Connection, operator: str, data: Any) -> None:
    u = parse(UnblockInput, data)
    blocks.unblock(conn, u.tipo, _address(u.alvo) if u.tipo == "machine" else u.alvo,
                   u.autorizado_por, operator)


def grant_level4(conn: Connection, policy: Policy, directory: Directory, operator: str,
                 data: Any) -> tuple[int, float, DirectoryUnavailable | None]:
    """Level 4 for a login until a local date (its last second) or date and time; its
    number, its end, and why the login was not checked, if it was not."""
    g = parse(Level4Input, data)
    login, warning = _subject("user", g.usuario, directory)
    until = end_of(g.ate, policy)
    return releases.grant_level4(conn, login, until, g.comite, g.motivo, operator), until, warning


def end_of(text: str, policy: Policy) -> float:
    """A local date (the end of that day) or ISO date and time (no offset: the policy's zone)."""
    tz = policy.calendar.tz
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return dt.datetime.combine(day, dt.time(23, 59, 59), tz).timestamp()
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput("ate", "use a data AAAA-MM-DD ou AAAA-MM-DDTHH:MM") from None
    return (value if value.tzinfo else value.replace(tzinfo=tz)).timestamp()


def _subject(kind: str, value: str, directory: Directory
             ) -> tuple[str, DirectoryUnavailable | None]:
    if kind == "machine":
        return _address(value), None
    login = value.strip().lower()
    try:
        directory.lookup(login)  # UnknownUser: one line, nothing blocked
    except DirectoryUnavailable as exc:
        return login, exc
    return login, None


def _address(value: str) -> str:
    try:
        return canonical_ip(value)
    except GuaritaError:
        raise InvalidInput("alvo", "o endereço da máquina é inválido") from None
