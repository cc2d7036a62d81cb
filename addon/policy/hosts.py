"""The one host and address normaliser.

Every host that reaches a decision (URL host, Host header, CONNECT target, TLS
SNI, category list entry, release object) goes through `normalize_host`, so two
spellings of one destination can never decide differently. The IPv4 rules are
the WHATWG URL standard's: browsers and curl accept `2130706433`, `0x7f000001`
and `0177.0.0.1` as 127.0.0.1, so the filter must too. A client's address (a session,
a machine block, a release to a machine, a search) goes through `canonical_ip`, so the
state and the proxy always compare one spelling.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import urlsplit

import idna

from addon.errors import HostError

_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_NUMBER = re.compile(r"^(?:0[xX][0-9a-fA-F]*|[0-9]+)$")
MAX_HOST_LEN = 253
MAX_URL_LEN = 8192


def _parse_ipv4_part(part: str) -> int:
    if part[:2] in ("0x", "0X"):
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part[0] == "0":
        if not set(part) <= set("01234567"):
            raise HostError(f"invalid octal IPv4 part {part!r}")
        return int(part, 8)
    return int(part, 10)


def _ipv4_from_labels(labels: list[str]) -> str | None:
    """WHATWG IPv4 parser: None when the name is not an IPv4 address at all."""
    if not labels or not _NUMBER.match(labels[-1]):
        return None
    if len(labels) > 4 or not all(_NUMBER.match(p) for p in labels):
        raise HostError("invalid IPv4 address")
    nums = [_parse_ipv4_part(p) for p in labels]
    if any(n > 255 for n in nums[:-1]) or nums[-1] >= 256 ** (5 - len(nums)):
        raise HostError("IPv4 address out of range")
    value = nums[-1]
    for i, n in enumerate(nums[:-1]):
        value += n << (8 * (3 - i))
    return str(ipaddress.IPv4Address(value))


def _canonical_ipv6(text: str) -> str:
    try:
        addr = ipaddress.IPv6Address(text.split("%", 1)[0])
    except ValueError as exc:
        raise HostError(f"invalid IPv6 address {text!r}") from exc
    if addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)


def _strip_port(text: str) -> str:
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise HostError("unterminated IPv6 bracket")
        rest = text[end + 1 :]
        if rest and not (rest[0] == ":" and rest[1:].isdigit()):
            raise HostError("junk after IPv6 address")
        return text[: end + 1]
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        if port and not port.isdigit():
            raise HostError(f"invalid port {port!r}")
        return host
    return text


@lru_cache(maxsize=65536)
def normalize_host(raw: str) -> str:
    """Canonical form of a host: lower-case ASCII (punycode), no trailing dot, no port,
    IPv4 in dotted decimal, IPv6 compressed without brackets.

    Raises HostError for anything that is not a host, so callers fail closed. A user
    name (`user@host`) belongs to a URL, not a host (`host_of_url` takes it off): here it
    is refused, as is white space or a control character anywhere, so that a form field
    `www.pornhub.com\r\nBcc: x@evil.example` is not read as `evil.example`.
    """
    text = raw.strip()
    if not text:
        raise HostError("empty host")
    if "@" in text:
        raise HostError(f"a host name has no user name (@): {raw!r}")
    if not text.isprintable() or any(c.isspace() for c in text):
        raise HostError(f"white space or a control character in a host name: {raw!r}")
    text = _strip_port(text)
    if text.startswith("["):
        return _canonical_ipv6(text[1:-1])
    if ":" in text:
        return _canonical_ipv6(text)
    if text.endswith("."):
        text = text[:-1]
    if not text:
        raise HostError("empty host")
    if not text.isascii():
        try:
            text = idna.encode(text, uts46=True, transitional=False).decode("ascii")
        except idna.IDNAError as exc:
            raise HostError(f"invalid international domain name {raw!r}: {exc}") from exc
    text = text.lower()
    labels = text.split(".")
    ipv4 = _ipv4_from_labels(labels)
    if ipv4 is not None:
        return ipv4
    if len(text) > MAX_HOST_LEN:
        raise HostError("host name longer than 253 characters")
    for label in labels:
        if not _LABEL.match(label):
            raise HostError(f"invalid host name {raw!r}")
        if label.startswith("xn--"):
            try:
                idna.decode(label)
            except idna.IDNAError as exc:
                raise HostError(f"invalid punycode label {label!r}") from exc
    return text


def is_ip(host: str) -> bool:
    """True for a canonical host that is an IP literal (after normalize_host)."""
    return ":" in host or (host[-1:].isdigit() and host.replace(".", "").isdigit())


def within(host: str, domain: str) -> bool:
    """Whether canonical `host` is `domain` or one of its subdomains."""
    return host == domain or host.endswith("." + domain)


def host_suffixes(host: str) -> list[str]:
    """The names an entry may be listed under, most specific first.

    A list entry covers its subdomains, so `www.gov.br` is looked up as
    `www.gov.br`, `gov.br`, `br`; an IP literal only as itself, never as a suffix.
    """
    if is_ip(host):
        return [host]
    parts = host.split(".")
    return [".".join(parts[i:]) for i in range(len(parts))]


def host_of_url(url: str) -> tuple[str, str, int, str]:
    """Split a URL into (scheme, canonical host, port, path+query).

    A bare host (`example.com`, `example.com/x`) is taken as http://. Rejects
    what a browser would not send: spaces, control characters, unknown schemes.
    """
    text = url.strip()
    if not text or len(text) > MAX_URL_LEN:
        raise HostError("URL is empty or too long")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise HostError(f"malformed URL {url!r}: contains white space or control characters")
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise HostError(f"malformed URL {url!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https", "ws", "wss"):
        raise HostError(f"unsupported URL scheme {scheme!r}")
    netloc = parts.netloc.rpartition("@")[2]
    host = normalize_host(netloc)
    if port is None:
        port = 443 if scheme in ("https", "wss") else 80
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, host, port, path


def canonical_ip(ip: str) -> str:
    """A client address as one spelling: IPv4-mapped IPv6 as IPv4, IPv6 compressed."""
    try:
        addr = ipaddress.ip_address(ip.strip().strip("[]"))
    except ValueError as exc:
        raise HostError(f"invalid IP address {ip!r}") from exc
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)
