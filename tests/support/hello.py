"""Crafted TLS ClientHellos: Python's own hello for a name, with an `encrypted_client_hello`
extension (0xfe0d) added, as a browser using ECH (or Chrome's GREASE ECH) sends it."""

from __future__ import annotations

import os
import ssl
import struct

ECH = 0xFE0D


def _python_hello(sni: str | None) -> bytes:
    ctx = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def client_hello(sni: str | None, ech: bool = False) -> bytes:
    """One TLS record holding a ClientHello for `sni` (the outer name, with ECH)."""
    record = _python_hello(sni)
    body = record[9:]  # record header (5) and handshake header (4)
    i = 2 + 32  # legacy version, random
    i += 1 + body[i]  # session id
    i += 2 + struct.unpack(">H", body[i:i + 2])[0]  # cipher suites
    i += 1 + body[i]  # compression methods
    extensions = body[i + 2:]
    if ech:  # outer ECH: type 0, HPKE suite, config id, enc, payload: opaque to the proxy
        enc, payload = os.urandom(32), os.urandom(128)
        ech_body = (b"\x00" + struct.pack(">HH", 1, 1) + b"\x2a"
                    + struct.pack(">H", len(enc)) + enc + struct.pack(">H", len(payload))
                    + payload)
        extensions += struct.pack(">HH", ECH, len(ech_body)) + ech_body
    body = body[:i] + struct.pack(">H", len(extensions)) + extensions
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack(">H", len(handshake)) + handshake
