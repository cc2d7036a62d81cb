"""Destinations the proxy never connects to, whatever the policy allows: its own host.

A request to `localhost`, to 127.0.0.1 in any spelling, or to a name that
resolves there would reach the proxy's own services (metrics, the logon
endpoint, anything listening on loopback), so they are refused like Squid's
`to_localhost`. The same holds for the link-local range (cloud metadata
services) and any range the policy's `destinations.forbidden` adds. Names are
checked as spelled here; `addon.proxy.destinations` checks the address a name
actually resolves to when the connection is made.
"""

from __future__ import annotations

import ipaddress

from addon.policy.hosts import is_ip
from addon.policy.model import Decision

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK: tuple[IPNetwork, ...] = (ipaddress.ip_network("127.0.0.0/8"),
                                   ipaddress.ip_network("::1/128"))
FORBIDDEN = Decision("block", 0, (), "Destino proibido: o próprio proxy ou uma rede interna "
                     "protegida", "destination.forbidden")
DEFAULT_FORBIDDEN: tuple[str, ...] = (
    "0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "::/128", "::1/128", "fe80::/10",
)


def is_loopback_name(host: str) -> bool:
    """`localhost` and its subdomains (RFC 6761: they always resolve to loopback)."""
    return host == "localhost" or host.endswith(".localhost")


def forbidden_address(ip: str, networks: tuple[IPNetwork, ...], allow_loopback: bool) -> bool:
    """True when `ip` (any textual form) falls in a forbidden network."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return True  # not an address we can reason about: never connect to it
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if allow_loopback and addr.is_loopback:
        return False
    return any(addr.version == n.version and addr in n for n in networks)


def forbidden_host(host: str, networks: tuple[IPNetwork, ...], allow_loopback: bool) -> bool:
    """For a canonical host as spelled in a request (before any resolution)."""
    if is_loopback_name(host):
        return not allow_loopback
    return is_ip(host) and forbidden_address(host, networks, allow_loopback)
