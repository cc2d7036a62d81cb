"""The DNS companion (`guarita run --dns-port N`, mitmproxy's DNS mode): each question
decided with the same policy, for the person logged in at the asking machine, and recorded
like a request (`method` DNS, the question type as the path, the response code as status).

Runs before mitmproxy's resolver (guarita puts it first), so a refused name is answered
here and never asked upstream. mitmproxy itself strips ECH keys from HTTPS records
(`strip_ech`, on) and `h3` from their ALPN (guarita runs with `http3=false`), so a browser
never learns how to go around the proxy from guarita's own answers.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Awaitable
from typing import Any

from mitmproxy import dns

from addon.audit.record import new_ref, record
from addon.errors import GuaritaError, HostError
from addon.policy.dns import SAFESEARCH_RULE, dns_verdict, safesearch_name
from addon.policy.hosts import normalize_host
from addon.policy.model import Decision, Identity
from addon.proxy.auditlog import AuditLog
from addon.proxy.identify import client_ip
from addon.proxy.metrics import Metrics
from addon.proxy.reload import Reload
from addon.proxy.verdict import ConnectionNotes, refusal

log = logging.getLogger("guarita")
ASKED = "guarita.dns"  # flow.metadata: (started, identity, decision, client ip, name)
SAFE = "guarita.dns.safe"  # flow.metadata: (the client's question, the SafeSearch name)
ANSWERABLE = frozenset({dns.types.A, dns.types.AAAA})  # a CNAME answers these as asked
SEEN_MAX = 65_536  # client addresses remembered for the self-test page
MALFORMED = refusal("request.malformed", "Nome malformado na pergunta DNS")


class DnsGuard:
    def __init__(self, reload: Reload, metrics: Metrics, audit: AuditLog,
                 notes: ConnectionNotes | None = None) -> None:
        self.reload = reload
        self.metrics = metrics
        self.audit = audit
        self.notes = notes or ConnectionNotes()

    def dns_request(self, flow: dns.DNSFlow) -> Awaitable[None] | None:
        q = flow.request.question
        if q is None or flow.response is not None:
            return None
        started = time.time()
        ip = client_ip(flow.client_conn.peername[0])
        seen = self.notes.dns_seen
        if len(seen) >= SEEN_MAX and ip not in seen:
            seen.clear()  # bounded: the self-test only asks "recently?"
        seen[ip] = started
        rt = self.reload.runtime
        try:
            identity = rt.identity(None, ip, started)
        except GuaritaError:  # the directory away: the session's login is still known
            identity = Identity(None)
        try:
            name = normalize_host(q.name)
        except HostError:
            flow.response = flow.request.fail(dns.response_codes.FORMERR)
            return self._record(started, identity, MALFORMED, ip, q.name, flow)
        try:
            d = rt.decide(name, identity, started, ip)
        except Exception as exc:  # noqa: BLE001 - fail closed, say it
            self.metrics.errors.labels("dns").inc()
            log.error("guarita: DNS question refused after an internal error: %s", exc)
            flow.response = flow.request.fail(dns.response_codes.SERVFAIL)
            return None
        verdict = dns_verdict(rt.policy, name, d)
        if verdict.refused:
            flow.response = flow.request.fail(dns.response_codes.NXDOMAIN)
            return self._record(started, identity, verdict.decision, ip, name, flow)
        safe = safesearch_name(rt.policy, name, d.level)
        if safe is not None and q.type not in ANSWERABLE:
            # an HTTPS record's address hints would lead around SafeSearch: none, so the
            # browser asks for A and AAAA, which are answered below
            flow.response = flow.request.succeed([])
            return self._record(started, identity, dataclasses.replace(
                verdict.decision, rule=SAFESEARCH_RULE,
                reason=f"Busca segura: só endereços de {safe}"), ip, name, flow)
        if safe is not None:  # asked as the engine's SafeSearch name, answered as a CNAME
            flow.request.questions[0] = dns.Question(safe, q.type, q.class_)
            flow.metadata[SAFE] = (q, safe)
            verdict = dataclasses.replace(verdict, decision=dataclasses.replace(
                verdict.decision, rule=SAFESEARCH_RULE,
                reason=f"Busca segura: respondido como {safe}"))
        flow.metadata[ASKED] = (started, identity, verdict.decision, ip, name)
        return None

    def dns_response(self, flow: dns.DNSFlow) -> Awaitable[None] | None:
        rewritten = flow.metadata.pop(SAFE, None)
        if rewritten is not None:
            flow.request.questions[0] = rewritten[0]  # the client's own question back
        if rewritten is not None and flow.response is not None:
            asked_q, safe = rewritten  # and the CNAME first
            flow.response.questions = [asked_q]
            flow.response.answers = [dns.ResourceRecord.CNAME(asked_q.name, safe),
                                     *flow.response.answers]
        asked = flow.metadata.pop(ASKED, None)
        if asked is None:
            return None
        started, identity, d, ip, name = asked
        if self.reload.runtime.policy.dns_record != "all":
            self.metrics.dns_questions.labels(d.rule).inc()
            return None
        return self._record(started, identity, d, ip, name, flow)

    def dns_error(self, flow: dns.DNSFlow) -> Awaitable[None] | None:
        return self.dns_response(flow)  # recorded with no status: the resolver failed

    def _record(self, started: float, identity: Identity, d: Decision, ip: str, name: str,
                flow: Any) -> Awaitable[None] | None:
        q = flow.request.question
        status = flow.response.response_code if flow.response is not None else None
        self.metrics.dns_questions.labels(d.rule).inc()  # not guarita_requests: no web request
        return self.audit.submit(record(
            started, new_ref(), identity, d, "DNS", "dns", name, 53,
            dns.types.to_str(q.type) if q is not None else None, status, None, None,
            (time.time() - started) * 1000, ip))
