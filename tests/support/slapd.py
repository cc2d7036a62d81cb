"""A throw-away OpenLDAP slapd on a loopback port, seeded for the identity tests.

Debian's `slapd` runs as a plain process with a generated slapd.conf (mdb backend,
memberof overlay), so `memberOf` is maintained by the server as in production.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

BASE = "dc=guarita,dc=test"
ADMIN = f"cn=admin,{BASE}"
ADMIN_PW = "admin-secret"
SERVICE = f"cn=guarita,ou=services,{BASE}"
SERVICE_PW = "service-secret"

USERS = {  # uid -> (password, groups)
    "ana": ("ana-pw", ["servidores"]),
    "bruno": ("bruno-pw", ["estagiarios"]),
    "carla": ("carla-pw", ["membros", "grp-video"]),
    "davi": ("davi-pw", []),
    "eva": ("eva-pw", ["coordenacao"]),  # nested: coordenacao is a member of membros
}
for i in range(100):
    USERS[f"u{i:03d}"] = (f"pw{i}", ["servidores"])
# immediate chiefs (Art. 19 II), as the `manager` attribute holds them; davi has no mail
CHIEFS = {"ana": "eva", "bruno": "carla", "carla": "eva"}
MAIL = {uid: f"{uid}@guarita.test" for uid in ("ana", "bruno", "carla", "eva")}


def available() -> bool:
    return bool(shutil.which("slapd") or Path("/usr/sbin/slapd").exists()) and bool(
        shutil.which("ldapadd"))


def _conf(folder: Path) -> str:
    return f"""
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile {folder}/slapd.pid
database mdb
suffix "{BASE}"
rootdn "{ADMIN}"
rootpw {ADMIN_PW}
directory {folder}/db
maxsize 104857600
overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint true
access to attrs=userPassword by anonymous auth by self write by * none
access to * by * read
"""


def _ldif() -> str:
    out = [f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\no: guarita\ndc: guarita\n",
           f"dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\n",
           f"dn: ou=groups,{BASE}\nobjectClass: organizationalUnit\nou: groups\n",
           f"dn: ou=services,{BASE}\nobjectClass: organizationalUnit\nou: services\n",
           f"dn: {SERVICE}\nobjectClass: simpleSecurityObject\nobjectClass: organizationalRole\n"
           f"cn: guarita\nuserPassword: {SERVICE_PW}\n"]
    for uid, (pw, _) in USERS.items():
        extra = f"mail: {MAIL[uid]}\n" if uid in MAIL else ""
        if uid in CHIEFS:
            extra += f"manager: uid={CHIEFS[uid]},ou=people,{BASE}\n"
        out.append(f"dn: uid={uid},ou=people,{BASE}\nobjectClass: inetOrgPerson\nuid: {uid}\n"
                   f"cn: {uid}\nsn: {uid}\nuserPassword: {pw}\n{extra}")
    groups: dict[str, list[str]] = {}
    for uid, (_, gs) in USERS.items():
        for g in gs:
            groups.setdefault(g, []).append(f"uid={uid},ou=people,{BASE}")
    groups["membros"].append(f"cn=coordenacao,ou=groups,{BASE}")
    order = ["coordenacao"] + [g for g in groups if g != "coordenacao"]
    for g in order:
        members = "".join(f"member: {m}\n" for m in groups[g])
        out.append(f"dn: cn={g},ou=groups,{BASE}\nobjectClass: groupOfNames\ncn: {g}\n{members}")
    return "\n".join(out)


class Slapd:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        (folder / "db").mkdir(parents=True, exist_ok=True)
        (folder / "slapd.conf").write_text(_conf(folder))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc: subprocess.Popen[bytes] | None = None
        self.seeded = False

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def start(self) -> Slapd:
        slapd = shutil.which("slapd") or "/usr/sbin/slapd"
        self.proc = subprocess.Popen(
            [slapd, "-d", "0", "-h", f"{self.url}/", "-f", str(self.folder / "slapd.conf")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2):
                    break
            except OSError as err:
                if self.proc.poll() is not None:
                    output = self.proc.stderr.read().decode()[-500:]  # type: ignore[union-attr]
                    raise RuntimeError(f"slapd failed: {output}") from err
                time.sleep(0.1)
        if not self.seeded:
            subprocess.run(["ldapadd", "-x", "-H", self.url, "-D", ADMIN, "-w", ADMIN_PW],
                           input=_ldif().encode(), check=True, capture_output=True)
            self.seeded = True
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None
