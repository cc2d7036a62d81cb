"""Bodies of allowed requests stream through, both ways, and are counted, never buffered.

Once a request is allowed nothing in guarita needs its body or its answer's,
so both are streamed chunk by chunk: a 100 MB upload or download costs the
proxy a chunk of memory, not 100 MB. The chunks are counted on their way
through, for the audit record's bytes in and out. Refusals are never streamed
(`enforce` answers them), nor are the proxy's own pages (the request form reads
its small body).
"""

from __future__ import annotations

from mitmproxy import http

from addon.proxy.verdict import BODY_BYTES, VERDICT, Verdict


class _Count:
    """A mitmproxy stream callable: passes each chunk on, adding its length to `sizes[i]`."""

    __slots__ = ("sizes", "i")

    def __init__(self, sizes: list[int], i: int) -> None:
        self.sizes, self.i = sizes, i

    def __call__(self, chunk: bytes) -> bytes:
        self.sizes[self.i] += len(chunk)
        return chunk


class Bodies:
    def requestheaders(self, flow: http.HTTPFlow) -> None:
        v = flow.metadata.get(VERDICT)
        if (flow.response or flow.error or not isinstance(v, Verdict) or not v.allowed
                or v.portal):
            return
        sizes = flow.metadata[BODY_BYTES] = [0, 0]
        flow.request.stream = _Count(sizes, 0)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        sizes = flow.metadata.get(BODY_BYTES)
        if sizes is not None and flow.response is not None:
            flow.response.stream = _Count(sizes, 1)
