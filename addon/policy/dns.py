"""What the DNS companion answers: the same decision as a request, read for a name.

Three kinds of name get NXDOMAIN. The canaries (Firefox's `use-application-dns.net`: an
NXDOMAIN keeps its DNS over HTTPS off; Apple's `mask.icloud.com`, `mask-h2.icloud.com`: iCloud
Private Relay stays off), which no level changes. The names of the malicious categories,
always, and those of the policy's `dns.refuse` categories (the DoH, DoT and VPN providers)
wherever the person's level blocks them: a resolver the browser cannot reach is a resolver
it cannot use to leave. Every other name is answered, whatever the web decision: the proxy
decides the web, and a machine without a session still needs its domain's names to log in.
"""

from __future__ import annotations

from dataclasses import dataclass

from addon.policy.model import Decision, Policy

CANARIES = frozenset({"use-application-dns.net", "mask.icloud.com", "mask-h2.icloud.com"})
CANARY_RULE = "dns.canary"
SAFESEARCH_RULE = "dns.safesearch"
# The names the search engines themselves publish for a network that enforces SafeSearch:
# a resolver answers their search names with a CNAME to these (Google: "Lock SafeSearch for
# devices and networks"; YouTube: Restricted Mode by DNS; Bing: strict.bing.com).
SAFESEARCH = {
    **dict.fromkeys(("google.com", "www.google.com", "google.com.br", "www.google.com.br"),
                    "forcesafesearch.google.com"),
    **dict.fromkeys(("youtube.com", "www.youtube.com", "m.youtube.com",
                     "youtubei.googleapis.com", "youtube.googleapis.com",
                     "www.youtube-nocookie.com"), "restrict.youtube.com"),
    **dict.fromkeys(("bing.com", "www.bing.com"), "strict.bing.com"),
}


def safesearch_name(policy: Policy, name: str, level: int) -> str | None:
    """The engine's SafeSearch name to answer `name` with, at the levels the policy's
    `dns.safesearch` lists; None for every other name or level."""
    if level not in policy.dns_safesearch:
        return None
    return SAFESEARCH.get(name)
REFUSED_RULE = "dns.refused"
ANSWERED_RULE = "dns.answered"


@dataclass(frozen=True)
class DnsVerdict:
    refused: bool
    decision: Decision  # what the audit records: the web decision re-read for DNS


def dns_verdict(policy: Policy, name: str, d: Decision) -> DnsVerdict:
    """`name` canonical (addon.policy.hosts.normalize_host); `d` the person's decision."""
    if name in CANARIES:
        return DnsVerdict(True, Decision("block", d.level, d.categories,
                                         "Nome-canário: o DNS seguro do navegador fica "
                                         "desligado na rede da instituição", CANARY_RULE))
    refusable = policy.dns_refuse | policy.malicious
    if not d.allowed and refusable.intersection(d.categories):
        return DnsVerdict(True, Decision("block", d.level, d.categories, d.reason,
                                         REFUSED_RULE, d.matched))
    return DnsVerdict(False, Decision("allow", d.level, d.categories, "", ANSWERED_RULE,
                                      d.matched))
