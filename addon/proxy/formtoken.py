"""The token that ties the block page's forms to the page that offered them.

A justification opens a site to a person and is kept in their name (their chief reads it,
and may count it as a violation), and a release request is filed in their name: a page
elsewhere must not be able to post either for them. Every block page with a form carries
an HMAC of (login, site, time) under a key of this proxy's state folder; the forms'
answers (`requestform`) accept a post only with a token for that person and that site,
made in the last hour. A foreign page cannot read the block
page (it is another origin's response), so it cannot forge or reuse the token. Workers
share the key through the state folder; a node of a cluster that did not make the page
refuses its token, and the person sends the form again from a fresh page.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import secrets
import stat
import time
from pathlib import Path

KEY_FILE = "form.key"
MAX_AGE = 3600.0


def load_key(state_dir: Path) -> bytes:
    """The key, made once (owner-only), safe when workers start together."""
    path = state_dir / KEY_FILE
    if not path.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        aside = state_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
        try:
            os.link(aside, path)  # whole or not at all: the first worker's key wins
        except FileExistsError:
            pass
        finally:
            aside.unlink()
    if os.stat(path).st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        os.chmod(path, 0o600)
    return path.read_bytes()


@functools.lru_cache(maxsize=8)
def key_for(state_dir: Path) -> bytes:
    """The key of a state folder, read once per process."""
    return load_key(state_dir)


def _mac(key: bytes, login: str, host: str, ts: int) -> str:
    return hmac.new(key, f"{login}\n{host}\n{ts}".encode(), hashlib.sha256).hexdigest()[:32]


def issue(key: bytes, login: str, host: str, now: float | None = None) -> str:
    ts = int(time.time() if now is None else now)
    return f"{ts}.{_mac(key, login, host, ts)}"


def valid(key: bytes, token: str, login: str, host: str, now: float | None = None) -> bool:
    ts_text, _, mac = token.partition(".")
    if not ts_text.isdigit() or not mac:
        return False
    ts = int(ts_text)
    age = (time.time() if now is None else now) - ts
    return -60 <= age <= MAX_AGE and hmac.compare_digest(mac, _mac(key, login, host, ts))
