"""Requests for access and their decisions, as every front door files and decides them."""

from __future__ import annotations

from typing import Any

from addon.policy.model import Policy
from addon.service.inputs import AccessRequest, Approval, EventRequest, Reason, parse
from addon.state import requests
from addon.state.releases import Target
from addon.store.seam import Connection


def file_access(conn: Connection, policy: Policy, login: str, data: Any,
                from_form: bool = False) -> int:
    """A person asks for a site (the block page's form, the console, the API)."""
    req = parse(AccessRequest, data, ("dias",) if from_form else ())
    return requests.request_access(conn, policy, login, domain=req.site, category=None,
                                   days=req.dias, reason=req.justificativa, ref=req.ref)


def file_event(conn: Connection, policy: Policy, target: Target, platform: str, operator: str,
               data: Any) -> int:
    """A web-conference platform for one event (the block page's form, the CLI): `data`'s
    `data`, `inicio`, `fim` as ISO text, its `justificativa` and `ref`."""
    e = parse(EventRequest, {k: v for k, v in dict(data).items() if v not in (None, "")})
    return requests.request_event(conn, policy, target, platform, e.data, e.inicio, e.fim,
                                  e.justificativa, operator, ref=e.ref)


def appeal(conn: Connection, policy: Policy, rid: int, login: str, data: Any) -> None:
    requests.appeal(conn, rid, parse(Reason, data).motivo, login, policy)


def deny(conn: Connection, policy: Policy, rid: int, login: str, data: Any) -> None:
    requests.deny(conn, rid, parse(Reason, data).motivo, login, policy)


def approve(conn: Connection, policy: Policy, rid: int, login: str, data: Any,
            categories: tuple[str, ...]) -> None:
    """`categories`: what the index gives the request's domain (the door has the index)."""
    a = parse(Approval, data)
    requests.approve(conn, policy, rid, login, a.analise or None, categories, a.comite or None)
