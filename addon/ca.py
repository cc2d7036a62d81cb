"""The proxy's certificate authority: where it lives, bringing the institution's, exporting it.

The block page for HTTPS needs a certificate for the blocked site, signed by a CA the
institution's machines trust (installed by GPO, Firefox enterprise roots or
`update-ca-certificates`). guarita keeps that CA in `<state>/ca/` as mitmproxy's
`mitmproxy-ca.pem` (key and certificate, mode 600): generated on first use, or the
institution's own, copied in from `--ca-cert`/`--ca-key`. `guarita run` and
`guarita ca export` read the same folder, so what is exported is what is served.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from addon.errors import GuaritaError

BASENAME = "mitmproxy"  # mitmproxy's CertStore reads <confdir>/mitmproxy-ca.pem
KEY_SIZE = 2048


def ca_dir(state_dir: Path) -> Path:
    return state_dir / "ca"


def _read_private(path: Path, what: str) -> bytes:
    try:
        mode = os.stat(path).st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise GuaritaError(f"{what} {path}: {exc.strerror or exc}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise GuaritaError(f"{what} {path} can be read by other users (mode "
                           f"{stat.S_IMODE(mode):o}); chmod 600 it: whoever holds this key can "
                           "impersonate every site to the institution's machines")
    return data


def install(cert_path: Path, key_path: Path, state_dir: Path) -> Path:
    """Copy the institution's CA into the state folder for mitmproxy; GuaritaError if unusable.

    The key must be readable by its owner only, parse, and match the certificate, which
    must be a CA: a mistake here would otherwise show as a TLS error on every blocked page.
    """
    key_pem = _read_private(key_path, "--ca-key")
    try:
        cert_pem = cert_path.read_bytes()
    except OSError as exc:
        raise GuaritaError(f"--ca-cert {cert_path}: {exc.strerror or exc}") from exc
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as exc:
        raise GuaritaError(f"--ca-cert {cert_path}: not a PEM certificate") from exc
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise GuaritaError(f"--ca-key {key_path}: not an unencrypted PEM private key") from exc
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise GuaritaError(f"--ca-key {key_path}: only RSA and EC keys are supported")
    if key.public_key().public_numbers() != cert.public_key().public_numbers():  # type: ignore[union-attr]
        raise GuaritaError(f"--ca-key {key_path} does not belong to --ca-cert {cert_path}")
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise GuaritaError(f"--ca-cert {cert_path} is not a CA certificate (BasicConstraints CA)")
    folder = ca_dir(state_dir)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_out = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    cert_out = cert.public_bytes(serialization.Encoding.PEM)
    _write(folder / f"{BASENAME}-ca.pem", key_out + cert_out, 0o600)
    _write(folder / f"{BASENAME}-ca-cert.pem", cert_out, 0o644)
    return folder


def ensure(state_dir: Path) -> Path:
    """The CA folder, with a CA generated on first use; returns the folder for mitmproxy."""
    from mitmproxy.certs import CertStore

    folder = ca_dir(state_dir)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        if not (folder / f"{BASENAME}-ca.pem").exists():
            # named for what it is: the name users see in a certificate error
            CertStore.create_store(folder, BASENAME, KEY_SIZE, organization="guarita",
                                   cn="guarita - filtro de acesso web")
        CertStore.from_store(folder, BASENAME, KEY_SIZE)
    except (OSError, ValueError) as exc:
        raise GuaritaError(f"CA in {folder}: {exc}") from exc
    return folder


def certificate(state_dir: Path) -> x509.Certificate:
    folder = ensure(state_dir)
    pem = (folder / f"{BASENAME}-ca.pem").read_bytes()
    return x509.load_pem_x509_certificate(pem)


def export(state_dir: Path, out: Path, der: bool = False) -> x509.Certificate:
    """Write the CA certificate (never the key) that clients must trust."""
    cert = certificate(state_dir)
    encoding = serialization.Encoding.DER if der else serialization.Encoding.PEM
    try:
        out.write_bytes(cert.public_bytes(encoding))
    except OSError as exc:
        raise GuaritaError(f"{out}: {exc.strerror or exc}") from exc
    return cert


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
