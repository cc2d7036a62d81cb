"""A throw-away MIT Kerberos KDC on a loopback port, with a realm, users and a proxy keytab.

Debian's `krb5kdc` runs as a plain process on a database made by `kdb5_util`; the
principals are made with `kadmin.local`, the proxy's keytab with `ktadd`. The
client side (`kinit`, `curl --negotiate`) reads `Kdc.env`, which points
KRB5_CONFIG at this realm only, so nothing leaves the machine.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REALM = "GUARITA.TEST"
PROXY_HOST = "localhost"  # the name clients use for the proxy: the SPN is HTTP/localhost
SERVICE = f"HTTP/{PROXY_HOST}@{REALM}"
OTHER_SERVICE = f"HTTP/outro@{REALM}"  # another web server of the realm, not in the proxy's keytab
# servidor and membro are in the shipped policy's directory; fantasma is only in the realm
USERS = {"servidor": "servidor-pw", "membro": "membro-pw", "fantasma": "fantasma-pw"}
SKEW = 2  # seconds of clock skew tolerated (MIT's default is 300): lets a test see expiry


def available() -> bool:
    return all(shutil.which(c) or Path("/usr/sbin", c).exists()
               for c in ("krb5kdc", "kdb5_util", "kadmin.local")) and bool(shutil.which("kinit"))


def _sbin(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Kdc:
    folder: Path
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def keytab(self) -> Path:
        return self.folder / "proxy.keytab"

    @property
    def env(self) -> dict[str, str]:
        """The environment of a process of this realm (client or proxy)."""
        return {**os.environ, "KRB5_CONFIG": str(self.folder / "krb5.conf"),
                "KRB5_KDC_PROFILE": str(self.folder / "kdc.conf"),
                "KRB5RCACHEDIR": str(self.folder), "KRB5_TRACE": "/dev/null"}

    def ccache(self, user: str) -> Path:
        return self.folder / f"cc.{user}"

    def kinit(self, user: str, lifetime: str = "1h") -> dict[str, str]:
        """A ticket for `user`; returns the environment that uses it."""
        env = {**self.env, "KRB5CCNAME": f"FILE:{self.ccache(user)}"}
        subprocess.run(["kinit", "-l", lifetime, user], input=f"{USERS[user]}\n".encode(),
                       env=env, check=True, capture_output=True, timeout=30)
        return env

    def token(self, env: dict[str, str], service: str = f"HTTP@{PROXY_HOST}") -> str:
        """A SPNEGO token for `service` from the ticket cache of `env`, base64, as curl sends it."""
        code = ("import base64, gssapi, sys; "
                "n = gssapi.Name(sys.argv[1], gssapi.NameType.hostbased_service); "
                "c = gssapi.SecurityContext(name=n, usage='initiate', "
                "mech=gssapi.OID.from_int_seq('1.3.6.1.5.5.2')); "
                "print(base64.b64encode(c.step()).decode())")
        cp = subprocess.run([sys.executable, "-c", code, service], env=env, capture_output=True,
                            text=True, timeout=30)
        if cp.returncode != 0:
            raise RuntimeError(f"no token: {cp.stderr.strip().splitlines()[-1:]}")
        return cp.stdout.strip()

    def ticket_end(self, env: dict[str, str]) -> float:
        """When the TGT in `env`'s cache expires (POSIX seconds)."""
        code = ("import gssapi, time; c = gssapi.Credentials(usage='initiate'); "
                "print(time.time() + c.lifetime)")
        cp = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=30, check=True)
        return float(cp.stdout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def start(folder: Path) -> Kdc:
    folder.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    (folder / "krb5.conf").write_text(f"""
[libdefaults]
    default_realm = {REALM}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    udp_preference_limit = 1
    clockskew = {SKEW}
[realms]
    {REALM} = {{
        kdc = 127.0.0.1:{port}
    }}
[domain_realm]
    {PROXY_HOST} = {REALM}
""")
    (folder / "kdc.conf").write_text(f"""
[kdcdefaults]
    kdc_listen = 127.0.0.1:{port}
    kdc_tcp_listen = 127.0.0.1:{port}
[realms]
    {REALM} = {{
        database_name = {folder}/principal
        key_stash_file = {folder}/stash
        acl_file = {folder}/kadm5.acl
        max_life = 10h
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    }}
[logging]
    kdc = FILE:{folder}/kdc.log
""")
    (folder / "kadm5.acl").write_text("")
    env = {**os.environ, "KRB5_CONFIG": str(folder / "krb5.conf"),
           "KRB5_KDC_PROFILE": str(folder / "kdc.conf")}

    def run(*args: str) -> None:
        subprocess.run(list(args), env=env, check=True, capture_output=True, timeout=60)

    run(_sbin("kdb5_util"), "create", "-s", "-r", REALM, "-P", "master-pw")
    for user, pw in USERS.items():
        run(_sbin("kadmin.local"), "-r", REALM, "-q", f"addprinc -pw {pw} {user}")
    run(_sbin("kadmin.local"), "-r", REALM, "-q", f"addprinc -randkey {SERVICE}")
    run(_sbin("kadmin.local"), "-r", REALM, "-q", f"addprinc -randkey {OTHER_SERVICE}")
    run(_sbin("kadmin.local"), "-r", REALM, "-q", f"ktadd -k {folder}/proxy.keytab {SERVICE}")
    os.chmod(folder / "proxy.keytab", 0o600)
    proc = subprocess.Popen([_sbin("krb5kdc"), "-n", "-r", REALM], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"krb5kdc exited: {(folder / 'kdc.log').read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return Kdc(folder, port, proc)
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("krb5kdc did not listen within 20 s")
