"""The proxy's CA: made once, brought by the institution (checked), exported for clients."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from addon import ca
from addon.errors import GuaritaError
from tests.conftest import Workspace


def make_cert(folder: Path, is_ca: bool = True, name: str = "AC Institucional") -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / f"{name}.pem", folder / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_file.chmod(0o600)
    return cert_file, key_file


def test_a_ca_is_made_once_named_for_guarita_and_its_key_kept_private(tmp_path: Path) -> None:
    first = ca.certificate(tmp_path)
    assert "guarita" in first.subject.rfc4514_string()
    assert ca.certificate(tmp_path) == first  # the same CA at every start
    assert (ca.ca_dir(tmp_path) / "mitmproxy-ca.pem").stat().st_mode & 0o077 == 0


def test_export_writes_the_certificate_never_the_key(tmp_path: Path) -> None:
    pem, der = tmp_path / "ca.pem", tmp_path / "ca.der"
    cert = ca.export(tmp_path / "state", pem)
    assert b"PRIVATE KEY" not in pem.read_bytes()
    assert x509.load_pem_x509_certificate(pem.read_bytes()) == cert
    ca.export(tmp_path / "state", der, der=True)
    assert x509.load_der_x509_certificate(der.read_bytes()) == cert


def test_the_institutions_own_ca_is_checked_then_served(tmp_path: Path) -> None:
    cert_file, key_file = make_cert(tmp_path)
    ca.install(cert_file, key_file, tmp_path / "state")
    served = ca.certificate(tmp_path / "state")
    assert served.subject.rfc4514_string() == "CN=AC Institucional"


def test_a_key_others_can_read_is_refused(tmp_path: Path) -> None:
    cert_file, key_file = make_cert(tmp_path)
    key_file.chmod(0o644)
    with pytest.raises(GuaritaError, match="can be read by other users.*chmod 600"):
        ca.install(cert_file, key_file, tmp_path / "state")


def test_a_key_of_another_certificate_or_a_leaf_certificate_is_refused(tmp_path: Path) -> None:
    cert_file, _ = make_cert(tmp_path, name="a")
    _, other_key = make_cert(tmp_path, name="b")
    with pytest.raises(GuaritaError, match="does not belong"):
        ca.install(cert_file, other_key, tmp_path / "state")
    leaf, leaf_key = make_cert(tmp_path, is_ca=False, name="leaf")
    with pytest.raises(GuaritaError, match="not a CA certificate"):
        ca.install(leaf, leaf_key, tmp_path / "state")
    with pytest.raises(GuaritaError, match="No such file"):
        ca.install(tmp_path / "none.pem", leaf_key, tmp_path / "state")


def test_cli_ca_export(ws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "ca.der"
    ws.var.mkdir()
    cp = ws.run("ca", "export", str(out), "--der", check=True)
    assert "SHA-256" in cp.stdout and out.stat().st_size > 300
    cert_file, key_file = make_cert(tmp_path)
    key_file.chmod(0o640)
    bad = ws.run("ca", "export", str(out), "--ca-cert", str(cert_file), "--ca-key", str(key_file))
    assert bad.returncode == 2 and "chmod 600" in bad.stderr and "Traceback" not in bad.stderr
    half = ws.run("ca", "export", str(out), "--ca-cert", str(cert_file))
    assert half.returncode == 2 and "go together" in half.stderr


def test_export_never_makes_a_new_ca_where_the_state_folder_is_missing(ws: Workspace,
                                                                       tmp_path: Path) -> None:
    """Issue 25: with var/ missing, export made a CA no machine trusts, and said nothing."""
    cp = ws.run("ca", "export", str(tmp_path / "ca.pem"))
    assert cp.returncode == 2 and "does not exist" in cp.stderr and "Traceback" not in cp.stderr
    assert not ws.var.exists() and not (tmp_path / "ca.pem").exists()


def test_every_command_finds_the_policys_state_from_any_folder(ws: Workspace,
                                                               tmp_path: Path) -> None:
    """Issue 25: the CLI run elsewhere wrote sessions to a new ./var there."""
    import subprocess

    from tests.conftest import guarita_cmd

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    subprocess.run([*guarita_cmd(), "session", "login", "servidor", "10.1.1.1", "--config",
                    str(ws.config)], cwd=elsewhere, check=True, capture_output=True)
    assert not (elsewhere / "var").exists()
    assert "10.1.1.1" in ws.run("session", "list", check=True).stdout
