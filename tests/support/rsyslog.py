"""A real rsyslog (Debian's `rsyslogd`) as a plain process on a loopback port, with a
throw-away config: octet-counted syslog over TCP, or over TLS (gtls) with certificates the
test makes. Every message lands as one line `MSGID SD MSG` in a file the test reads.

It can be stopped and started again on the same port, as a SIEM that goes away.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
_LINE = re.compile(r'^(\S+) \[guarita@32473 kind="(\w+)" id="(\d+)"\] (.*)$')


def available() -> bool:
    return Path(RSYSLOGD).exists()


def make_ca(folder: Path, name: str) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it: (ca, cert, key) files."""
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = folder / f"{name}-ca.pem", folder / f"{name}-cert.pem", folder / f"{name}-key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return paths


class Rsyslog:
    def __init__(self, folder: Path, tls: bool = False) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.out = folder / "received.log"
        self.tls = tls
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.ca = self.cert = self.key = None
        if tls:
            self.ca, self.cert, self.key = make_ca(folder, "siem")
        self.proc: subprocess.Popen[bytes] | None = None

    def _config(self) -> Path:
        work = self.folder / "work"
        work.mkdir(exist_ok=True)
        tls_global = (f' DefaultNetstreamDriver="gtls" DefaultNetstreamDriverCAFile="{self.ca}"'
                      f' DefaultNetstreamDriverCertFile="{self.cert}"'
                      f' DefaultNetstreamDriverKeyFile="{self.key}"') if self.tls else ""
        tls_module = (' StreamDriver.Name="gtls" StreamDriver.Mode="1"'
                      ' StreamDriver.AuthMode="anon"') if self.tls else ""
        conf = self.folder / "rsyslog.conf"
        conf.write_text(
            f'global(workDirectory="{work}" maxMessageSize="64k"{tls_global})\n'
            f'module(load="imtcp"{tls_module})\n'
            'template(name="raw" type="string" string="%msgid% %structured-data% %msg%\\n")\n'
            f'ruleset(name="r") {{ action(type="omfile" file="{self.out}" template="raw") }}\n'
            f'input(type="imtcp" port="{self.port}" address="127.0.0.1" ruleset="r")\n')
        return conf

    def start(self) -> Rsyslog:
        self.proc = subprocess.Popen(
            [RSYSLOGD, "-n", "-f", str(self._config()), "-i", str(self.folder / "pid")],
            stdout=subprocess.DEVNULL, stderr=(self.folder / "rsyslogd.err").open("ab"))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"rsyslogd exited with {self.proc.returncode}: "
                                   f"{(self.folder / 'rsyslogd.err').read_text()[-500:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("rsyslogd did not listen")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # a graceful stop: it writes what it took
            self.proc.wait(20)
        self.proc = None

    def messages(self) -> list[tuple[str, str, int, str]]:
        """(msgid, kind, id, body) of every message received, in order."""
        if not self.out.exists():
            return []
        out = []
        for line in self.out.read_text(encoding="utf-8", errors="replace").splitlines():
            m = _LINE.match(line)
            if m:
                out.append((m.group(1), m.group(2), int(m.group(3)), m.group(4)))
        return out

    def audit_ids(self) -> list[int]:
        return [i for _, kind, i, _ in self.messages() if kind == "audit"]

    def bodies(self, kind: str = "audit") -> list[dict[str, object]]:
        return [json.loads(b) for _, k, _, b in self.messages() if k == kind]
