"""A local stand-in for the internet, for end-to-end tests and benchmarks.

guarita runs in mitmproxy's upstream mode pointing here, so requests keep their
real host names (www.gov.br, zoom.us) with no DNS and no network: this server
answers absolute-form HTTP requests itself, and pipes CONNECT tunnels to a local
TLS server with a self-signed certificate. It records every connection, so a
test can assert that a blocked request never reached "the internet".
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import tempfile
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "guarita-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("*")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


FILL = b"x" * (256 << 10)


class FakeNet:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, tls_port: int = 0) -> None:
        self.seen: list[str] = []  # "GET http://host/path", "CONNECT host:443", "TLS sni"
        self.connections = 0  # client connections accepted, plain and TLS
        self.host = host
        self.port = port
        self.tls_port = tls_port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._dir = tempfile.TemporaryDirectory()

    def start(self) -> FakeNet:
        cert, key = self_signed(Path(self._dir.name))
        self._ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ctx.load_cert_chain(cert, key)
        self._ctx.sni_callback = self._sni
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(self._serve(), self._loop)
        fut.result(10)
        return self

    def _sni(self, sock: ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> None:
        self.seen.append(f"TLS {name}")

    async def _serve(self) -> None:
        self._http = await asyncio.start_server(self._handle_http, self.host, self.port)
        self._tls = await asyncio.start_server(self._handle_tls, self.host, self.tls_port,
                                               ssl=self._ctx)
        self.port = self._http.sockets[0].getsockname()[1]
        self.tls_port = self._tls.sockets[0].getsockname()[1]

    async def _read_head(self, reader: asyncio.StreamReader) -> tuple[str, dict[str, str]] | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            return None
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        return lines[0], headers

    async def _respond(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                       prefix: str) -> None:
        while True:
            parsed = await self._read_head(reader)
            if parsed is None:
                break
            line, headers = parsed
            n = int(headers.get("content-length", "0") or 0)
            got = 0
            while got < n:  # read and count, never hold a large body in memory
                chunk = await reader.read(min(1 << 20, n - got))
                if not chunk:
                    raise asyncio.IncompleteReadError(b"", n - got)
                got += len(chunk)
            method, target = line.split(" ")[:2]
            if method == "CONNECT":
                self.seen.append(f"CONNECT {target}")
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
                await self._pipe(reader, writer)
                return
            self.seen.append(f"{method} {target}")
            out = f"{prefix} {method} {target} host={headers.get('host', '')} len={got}\n"
            data = out.encode()
            size = len(data)
            if "/size/" in target:  # a body of a known size, for byte accounting
                size = max(size, int(target.rsplit("/", 1)[1]))
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: "
                         + str(size).encode() + b"\r\n\r\n" + data)
            left = size - len(data)
            while left > 0:  # large bodies in 256 KiB writes, never built in memory
                n = min(left, len(FILL))
                writer.write(FILL[:n])
                left -= n
                await writer.drain()
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                break
        writer.close()

    async def _handle_http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self._respond(reader, writer, "upstream")
        except (ConnectionError, asyncio.IncompleteReadError):
            pass

    async def _handle_tls(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self._respond(reader, writer, "tls-upstream")
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            r2, w2 = await asyncio.open_connection(self.host, self.tls_port)
        except OSError:
            writer.close()
            return

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                dst.close()

        await asyncio.gather(copy(reader, w2), copy(r2, writer))

    def stop(self) -> None:
        async def close() -> None:
            self._http.close()
            self._tls.close()
        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._dir.cleanup()


def main() -> None:
    """`python -m tests.support.fakenet HOST PORT TLS_PORT`: an origin server in a namespace.

    Prints `ready` once listening, then, for each line read on standard input, one line
    with the connections accepted and every request seen so far (as JSON).
    """
    import json
    import sys

    host, port, tls_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    net = FakeNet(host, port, tls_port).start()
    print("ready", flush=True)
    for _ in sys.stdin:
        print(json.dumps({"connections": net.connections, "seen": net.seen}), flush=True)
    net.stop()


if __name__ == "__main__":
    main()
