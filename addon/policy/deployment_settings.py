"""Policy sections that describe where guarita runs rather than what it allows: the proxy's
Kerberos keytab, the console's roles, the cluster's nodes (for the PAC file) and the storage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from addon.policy.model import NegotiateSettings
from addon.policy.reader import Reader


def parse_negotiate(r: Reader, auth_tree: dict, policy_path: Path) -> NegotiateSettings | None:
    """`directory.authentication.negotiate`: the keytab resolves against the policy's folder."""
    w = "directory.authentication.negotiate"
    spec = r.get(auth_tree, "negotiate", dict, "directory.authentication", None)
    if spec is None:
        return None
    keytab = r.get(spec, "keytab", str, w)
    principal = r.get(spec, "principal", str, w, None)
    realms_raw = r.get(spec, "realms", list, w, None)
    if realms_raw is None:
        _, at, realm = (principal or "").rpartition("@")
        if not at or not realm:
            raise r.fail(f"{w}.realms", "required unless principal names its realm "
                                        "(HTTP/proxy.fqdn@REALM)")
        realms_raw = [realm]
    realms = frozenset(str(x).strip().upper() for x in realms_raw if str(x).strip())
    if not realms:
        raise r.fail(f"{w}.realms", "must list at least one realm")
    return NegotiateSettings((policy_path.resolve().parent / keytab).resolve(), realms, principal)


CONSOLE_ROLES = ("ti", "comite", "auditoria", "chefia")


def parse_console_roles(r: Reader, tree: dict) -> dict[str, frozenset[str]]:
    """`console.roles`: which directory groups hold each console role (case-folded)."""
    console = r.get(tree, "console", dict, "", {})
    out: dict[str, frozenset[str]] = {}
    for role, groups in r.get(console, "roles", dict, "console", {}).items():
        if role not in CONSOLE_ROLES:
            raise r.fail(f"console.roles.{role}", f"must be one of {', '.join(CONSOLE_ROLES)}")
        groups = [groups] if isinstance(groups, str) else groups
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise r.fail(f"console.roles.{role}", "must be a group or a list of groups")
        out[role] = frozenset(g.casefold() for g in groups)
    return out


def parse_cluster(r: Reader, tree: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`cluster`: the proxy nodes as host:port, in failover order, and domains reached directly."""
    cluster = r.get(tree, "cluster", dict, "", {})
    nodes = tuple(r.get(cluster, "nodes", list, "cluster", []))
    for i, node in enumerate(nodes):
        host, sep, port = str(node).rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise r.fail(f"cluster.nodes[{i}]", f"must be host:port, got {node!r}")
    direct = tuple(str(d) for d in r.get(cluster, "direct_domains", list, "cluster", []))
    return nodes, direct


def parse_storage(r: Reader, tree: dict[str, Any], override: str | None) -> str:
    """`storage.database`: empty for the embedded SQLite files, or a `postgresql://` URL that
    every node shares. `override` (GUARITA_DATABASE_URL) wins: the password stays out of the
    policy file (libpq's PGPASSWORD or ~/.pgpass work too)."""
    storage = r.get(tree, "storage", dict, "", {})
    url = override if override is not None else r.get(storage, "database", str, "storage", "")
    url = url.strip()
    if url in ("", "sqlite"):
        return ""
    if not url.startswith(("postgresql://", "postgres://")):
        raise r.fail("storage.database", "must be sqlite or a postgresql:// URL")
    return url
