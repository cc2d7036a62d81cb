"""One connection to a receiver: TCP, or TLS with the receiver's CA and optionally this
node's certificate (RFC 5425). Every failure is a ForwardError of one line.

A plain syslog stream has no acknowledgement (RELP would): what `send` handed to the kernel
may still be lost if the receiver goes away. `alive` is how the shipper finds out: a
receiver never writes to a syslog sender, so a readable socket means it closed or reset,
and what was sent since the last good look is sent again.
"""

from __future__ import annotations

import select
import socket
import ssl

from addon.errors import GuaritaError
from addon.settings.forward import ForwardTarget

TIMEOUT = 5.0


class ForwardError(GuaritaError):
    pass


def tls_context(target: ForwardTarget) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(cafile=target.ca_file)
        if target.cert_file is not None:
            context.load_cert_chain(target.cert_file, target.key_file)
    except (OSError, ssl.SSLError) as exc:
        raise ForwardError(f"forward {target.name}: cannot use the TLS files: "
                           f"{getattr(exc, 'strerror', None) or exc}") from exc
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _why(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (f"TLS refused: the receiver's certificate is not trusted by ca_file "
                f"({exc.verify_message or exc.reason})")
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


class Link:
    def __init__(self, target: ForwardTarget, context: ssl.SSLContext | None = None) -> None:
        self.target = target
        self.where = f"forward {target.name} ({target.host}:{target.port})"
        try:
            raw = socket.create_connection((target.host, target.port), timeout=TIMEOUT)
        except OSError as exc:
            raise ForwardError(f"{self.where}: cannot connect: {_why(exc)}") from exc
        self.sock: socket.socket = raw
        if target.transport == "tls":
            try:
                self.sock = (context or tls_context(target)).wrap_socket(
                    raw, server_hostname=target.server_name or target.host)
            except (OSError, ssl.SSLError) as exc:
                raw.close()
                raise ForwardError(f"{self.where}: {_why(exc)}") from exc

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise ForwardError(f"{self.where}: connection lost: {_why(exc)}") from exc

    def alive(self) -> bool:
        """False once the receiver closed or reset the connection."""
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
            if not readable:
                return True
            if isinstance(self.sock, ssl.SSLSocket):
                self.sock.setblocking(False)
                try:
                    return bool(self.sock.recv(1))
                except ssl.SSLWantReadError:
                    return True
                finally:
                    self.sock.settimeout(TIMEOUT)
            return bool(self.sock.recv(1, socket.MSG_PEEK))
        except (OSError, ValueError):
            return False

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
