"""`guarita check URL`: the decision the proxy would take, and why."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import click

from addon.cli.common import config_option, fmt_time, parse_time
from addon.errors import GuaritaError
from addon.policy.decide import effective_level
from addon.policy.destinations import FORBIDDEN, forbidden_host
from addon.policy.hosts import canonical_ip, host_of_url
from addon.policy.model import Identity
from addon.runtime import RuntimeSource


@click.command()
@click.argument("url")
@click.option("--user", help="Login to resolve through the directory (as the proxy would).")
@click.option("--groups", help="Comma-separated directory groups, instead of a user.")
@click.option("--level", type=int, help="Ask for a bare level 0–4, instead of a user.")
@click.option("--ip", help="Client machine address: its session, machine level and blocks apply.")
@click.option("--at", "at", help="ISO-8601 time to decide at (default now; no offset = policy zone).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@config_option
def check(url: str, user: str | None, groups: str | None, level: int | None, ip: str | None,
          at: str | None, as_json: bool, config: Path) -> None:
    """Explain the decision the proxy would take for URL.

    Exit status: 0 allow, 1 block, 2 bad input. With no --user/--groups/--level
    the machine's login session (--ip) decides who is asking, as on the wire.
    """
    if sum(x is not None for x in (user, groups, level)) > 1:
        raise GuaritaError("give at most one of --user, --groups, --level")
    if level is not None and not 0 <= level <= 4:
        raise GuaritaError(f"invalid --level {level}: levels are 0 to 4")
    scheme, host, port, path = host_of_url(url)
    source = RuntimeSource(config)
    try:
        rt = source.current
        policy = rt.policy
        now = parse_time(at, policy.calendar.tz, "--at") if at else time.time()
        client_ip = canonical_ip(ip) if ip else None
        if level is not None:
            identity = Identity(
                user=None, base_level=min(level, 3),
                level4_until=now + 1 if level == 4 else None,
                machine_level=policy.machine_level(client_ip), source="level",
                blocked_machine=rt.snapshot.blocks.get(("machine", client_ip or "")),
            )
        elif groups is not None:
            names = frozenset(g.strip() for g in groups.split(",") if g.strip())
            identity = rt.identity(None, client_ip, now, groups=names)
        else:
            identity = rt.identity(user, client_ip, now)
        # the proxy refuses its own host and protected networks before any category
        # (`--set guarita_allow_localhost` aside): check says so as the proxy would
        if forbidden_host(host, policy.forbidden_networks, False):
            d = dataclasses.replace(FORBIDDEN, level=effective_level(policy, identity, now))
        else:
            d = rt.decide(host, identity, now, client_ip)
    finally:
        source.close()
    result: dict[str, object] = {
        "decision": d.action, "level": d.level, "categories": list(d.categories),
        "reason": d.reason, "rule": d.rule, "matched": d.matched, "release": d.release_id,
        "host": host, "user": identity.user, "at": fmt_time(now, policy.calendar.tz),
        "business_hours": policy.calendar.is_business_time(now),
        # Art. 10 §1: blocked, but the person's justification would open the site, for
        # the window below, from now (or `--at`)
        "justifiable": d.justifiable,
    }
    if d.justifiable:
        result["justification_window"] = {
            "site": d.matched or host, "minutes": policy.justify_minutes,
            "from": fmt_time(now, policy.calendar.tz),
            "until": fmt_time(now + policy.justify_minutes * 60, policy.calendar.tz),
            "per_day": policy.justify_per_day}
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    else:
        verdict = "ALLOW" if d.allowed else "BLOCK"
        cats = ", ".join(f"{c} ({policy.label(c)})" for c in d.categories) or "unclassified"
        click.echo(f"{verdict}  {scheme}://{host}{'' if port in (80, 443) else f':{port}'}{path}")
        click.echo(f"  level:      {d.level} ({policy.levels[d.level].name})")
        click.echo(f"  user:       {identity.user or '-'}")
        click.echo(f"  categories: {cats}" + (f"  [entry {d.matched}]" if d.matched else ""))
        click.echo(f"  rule:       {d.rule}")
        click.echo(f"  reason:     {d.reason}")
        if d.justifiable:
            w = result["justification_window"]
            assert isinstance(w, dict)
            click.echo(f"  justifiable: a justification opens {w['site']} for "
                       f"{w['minutes']} minutes ({w['from']} to {w['until']})")
        click.echo(f"  at:         {result['at']}"
                   + ("  (business hours)" if result["business_hours"] else ""))
    raise SystemExit(0 if d.allowed else 1)
