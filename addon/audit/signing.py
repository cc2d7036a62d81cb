"""The node's audit key: Ed25519, signing checkpoints, pruning statements and exports.

Kept in `<state>/audit-key.pem`, readable by its owner only (like the CA's key): whoever
holds it can sign a checkpoint, which is why checkpoints also go to a witness outside the
database. Made on first use; several workers starting at once make one key (written aside,
then linked into place, which fails for all but the first).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from addon.ca import _read_private
from addon.errors import GuaritaError

KEY_FILE = "audit-key.pem"


def key_path(state_dir: Path) -> Path:
    return state_dir / KEY_FILE


def load_key(state_dir: Path, create: bool = True) -> Ed25519PrivateKey:
    """The node's key; made on first use when `create`. GuaritaError (one line) if unusable."""
    path = key_path(state_dir)
    if not path.exists():
        if not create:
            raise GuaritaError(f"{path}: no audit key yet (the proxy makes it when it first writes)")
        _create(path)
    data = _read_private(path, "audit key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except ValueError as exc:
        raise GuaritaError(f"audit key {path}: not a PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise GuaritaError(f"audit key {path}: not an Ed25519 key")
    return key


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    aside = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(aside, path)  # fails if another process made it first: theirs is the key
    except FileExistsError:
        pass
    finally:
        aside.unlink()


def public_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw).hex()


def fingerprint(public: str) -> str:
    """A short name for a public key, to compare by eye or over the phone."""
    digest = hashlib.sha256(bytes.fromhex(public)).hexdigest()[:16]
    return ":".join(digest[i:i + 4] for i in range(0, 16, 4))


def sign(key: Ed25519PrivateKey, body: bytes) -> str:
    return key.sign(body).hex()


def valid(public: str, body: bytes, signature: str) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public)).verify(
            bytes.fromhex(signature), body)
    except (InvalidSignature, ValueError):
        return False
    return True
