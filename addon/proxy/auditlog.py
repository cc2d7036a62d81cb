"""One audit record per request and per tunnel, from its Verdict, whatever happens to it.

A request is recorded once, when it ends: answered (`response`), refused
(`response` of the refusal, or `http_connect` for a refused CONNECT), or broken
(`error`: upstream down, client gone, flow cut). Tunnels are recorded by
`tunnels` through `submit` when they close. Records are made safe for any bytes
by `addon.audit.record`, so no request can stop the log.

Back-pressure: the writer's queue is bounded. When it is full, the hook that
made the record awaits room (the record itself is already queued: nothing is
dropped), so that request's answer waits and its client slows down, while the
event loop keeps serving everyone else. The queue can exceed its bound by at
most one record per connection held this way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from mitmproxy import ctx, http

from addon.audit import signing
from addon.audit.record import record
from addon.audit.schema import local_view, open_audit
from addon.audit.sealer import Sealer
from addon.audit.writer import AuditWriter
from addon.errors import GuaritaError
from addon.policy.model import Decision
from addon.proxy.identify import client_ip
from addon.proxy.metrics import Metrics
from addon.proxy.reload import Reload
from addon.proxy.upstream import UPSTREAM_ERROR
from addon.proxy.verdict import (
    BODY_BYTES,
    RECORDED,
    TRANSPARENT,
    VERDICT,
    ConnectionNotes,
    Verdict,
    refusal,
    seen_transparently,
)
from addon.store.seam import StoreError

log = logging.getLogger("guarita")

UNDECIDED = refusal("request.undecided", "Pedido encerrado antes da decisão")


class AuditLog:
    def __init__(self, reload: Reload, metrics: Metrics, notes: ConnectionNotes) -> None:
        self.reload = reload
        self.metrics = metrics
        self.notes = notes
        self.writer: AuditWriter | None = None
        self.keep_query = False

    def load(self, loader: Any) -> None:
        loader.add_option(
            "guarita_audit_query", bool, False,
            "Keep the query string in the audit log, as the policy's audit.keep_query does. "
            "Off (and the policy's off): only the path is stored (query strings carry tokens "
            "and personal data).",
        )

    def configure(self, updated: set[str]) -> None:
        if "guarita_audit_query" in updated:
            self.keep_query = bool(ctx.options.guarita_audit_query)
        if "guarita_policy" not in updated or self.reload.source is None:
            return
        policy = self.reload.runtime.policy
        path = policy.paths.audit_target
        if self.writer is not None and self.writer.path == path:
            self.writer.sealer.witness_file = policy.audit_witness  # a reload may move it
            return
        if self.writer is not None:
            self._close()
        self.writer = AuditWriter(path, on_batch=self._on_batch, on_error=self._on_error,
                                  sealer=Sealer(key=self._key(policy.paths.state_dir),
                                                witness_file=policy.audit_witness))
        if not isinstance(path, Path):
            return  # PostgreSQL knows time zones: auditors convert in their own queries
        try:
            with contextlib.closing(open_audit(path)) as conn:
                local_view(conn, self.reload.runtime.policy.calendar.tz)
        except (StoreError, OSError) as exc:  # the writer reports and retries on its own
            log.warning("guarita: audit log %s: local-time view not made (%s)", path, exc)

    @staticmethod
    def _key(state_dir: Path) -> Ed25519PrivateKey | None:
        """The node's signing key; without a usable one records are still sealed, unsigned."""
        try:
            return signing.load_key(state_dir)
        except (GuaritaError, OSError) as exc:
            log.error("guarita: audit checkpoints not signed: %s", exc)
            return None

    def _on_batch(self, n: int, seconds: float) -> None:
        self.metrics.audit_written.inc(n)
        self.metrics.audit_batch_seconds.observe(seconds)
        if self.writer is not None:
            self.metrics.audit_queue.set(self.writer.waiting)

    def _on_error(self, message: str) -> None:
        self.metrics.errors.labels("audit").inc()
        if "restarted" in message:
            self.metrics.audit_restarts.inc()

    # ------------------------------------------------------------------ hooks
    # Hooks return None, or a coroutine that mitmproxy awaits only while the queue is full:
    # no coroutine per request on the hot path.
    def http_connect(self, flow: http.HTTPFlow) -> Awaitable[None] | None:
        if flow.response is not None and flow.response.status_code >= 300:
            return self._finish(flow)  # a refused CONNECT has no response hook of its own
        return None

    def response(self, flow: http.HTTPFlow) -> Awaitable[None] | None:
        return self._finish(flow)

    def error(self, flow: http.HTTPFlow) -> Awaitable[None] | None:
        return self._finish(flow)

    def submit(self, rec: tuple[object, ...]) -> Awaitable[None] | None:
        """Queue a record; while the queue is full, a coroutine for this caller to await."""
        writer = self.writer
        if writer is None or writer.submit(rec):
            return None
        self.metrics.audit_backpressure.inc()
        return self._room(writer)

    @staticmethod
    async def _room(writer: AuditWriter) -> None:
        while not writer.has_room() and not writer.stopped:
            await asyncio.sleep(0.01)

    def count(self, d: Decision) -> None:
        self.metrics.count(d, self.reload.runtime.policy.category_labels)

    # --------------------------------------------------------------- records
    def _finish(self, flow: http.HTTPFlow) -> Awaitable[None] | None:
        if flow.metadata.get(RECORDED):
            return None
        flow.metadata[RECORDED] = True
        try:
            rec, d = self._record(flow)
        except Exception as exc:  # noqa: BLE001 - a record of last resort, never none
            self.metrics.errors.labels("audit_record").inc()
            log.error("guarita: audit record failed (%s); recording what is known", exc)
            d = UNDECIDED
            rec = record(time.time(), "-", None, d, "?", "?", repr(flow.request.host), None,
                         None, None, None, None, None, None)
        self.count(d)
        return self.submit(rec)

    def _record(self, flow: http.HTTPFlow) -> tuple[tuple[object, ...], Decision]:
        req, resp = flow.request, flow.response
        v = flow.metadata.get(VERDICT)
        if not isinstance(v, Verdict):  # ended (client gone, error) before any decision
            ip = client_ip(flow.client_conn.peername[0])
            v = Verdict(UNDECIDED, None, "-", req.timestamp_start, ip, req.host or "-")
        d = v.decision
        late = self.notes.take(flow.client_conn.id) if flow.error else None
        if late is not None:  # refused when connecting (destinations), after the verdict
            d = Decision(late.action, d.level, d.categories, late.reason, late.rule, d.matched)
        elif flow.error is not None and UPSTREAM_ERROR in flow.metadata:
            d = flow.metadata[UPSTREAM_ERROR]  # allowed, but the site failed (upstream)
        status = resp.status_code if resp is not None else (v.status or None)
        if (late is not None or d.action == "error") and status is None:
            status = 502  # what mitmproxy answered for the failed connection
        counted = flow.metadata.get(BODY_BYTES)
        if counted is not None:
            bytes_in, bytes_out = counted
        else:
            bytes_in = len(req.raw_content or b"")
            bytes_out = len(resp.raw_content or b"") if resp is not None else 0
        path = None if req.method == "CONNECT" else req.path
        if path is not None and not (self.keep_query or self.reload.runtime.policy.audit_keep_query):
            path = path.split("?", 1)[0]
        duration = (time.time() - v.started) * 1000
        identity = (seen_transparently(v.identity) if TRANSPARENT in flow.metadata
                    else v.identity)
        return record(v.started, v.ref, identity, d, req.method, req.scheme, v.host, req.port,
                      path, status, bytes_in, bytes_out, duration, v.client_ip), d

    def _close(self) -> None:
        if self.writer is not None:
            lost = self.writer.close()
            if lost:
                self.metrics.audit_lost.inc(lost)
            self.writer = None

    def done(self) -> None:
        self._close()
