"""A network namespace of the test's own, with a hosts file: traffic as it really is, named.

`ip netns exec NAME` bind-mounts `/etc/netns/NAME/hosts` over `/etc/hosts` for the
command it runs, so a proxy started there resolves `www.gov.br` through the system
resolver to an address the test chose, with no DNS server and no network. The origin
servers listen on an address added to the namespace's own loopback device, which is
not in 127.0.0.0/8, so the proxy's forbidden-destination check treats it as any site.
Nothing leaves the namespace; it is deleted at the end.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from pathlib import Path

SITE = "198.51.100.10"  # TEST-NET-2 (RFC 5737): never routed, only inside the namespace
_names = itertools.count()


def available() -> bool:
    return os.geteuid() == 0 and shutil.which("ip") is not None


class Namespace:
    def __init__(self, hosts: dict[str, str]) -> None:
        self.name = f"guarita{os.getpid()}x{next(_names)}"
        self.hosts = hosts
        self.etc = Path("/etc/netns") / self.name

    def __enter__(self) -> Namespace:
        subprocess.run(["ip", "netns", "add", self.name], check=True, capture_output=True)
        try:
            self.exec_check("ip", "link", "set", "lo", "up")
            self.exec_check("ip", "addr", "add", f"{SITE}/32", "dev", "lo")
            self.etc.mkdir(parents=True, exist_ok=True)
            lines = ["127.0.0.1 localhost", *(f"{ip} {name}" for name, ip in self.hosts.items())]
            (self.etc / "hosts").write_text("\n".join(lines) + "\n")
            # no resolver at all: names come from the hosts file or not at all
            (self.etc / "resolv.conf").write_text("")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
        shutil.rmtree(self.etc, ignore_errors=True)

    def command(self, *args: str) -> list[str]:
        return ["ip", "netns", "exec", self.name, *args]

    def exec_check(self, *args: str) -> None:
        subprocess.run(self.command(*args), check=True, capture_output=True)


class Client:
    """A second namespace: a machine on the LAN whose only way out is the first one.

    A veth pair joins them (`GATEWAY` on the first, `ADDRESS` here) and this namespace's
    default route goes to the gateway, so packets for any address — the site's included —
    reach the first namespace, where its nftables rules (`redirect`) can catch them, as an
    institution's gateway does for machines never configured to use the proxy.
    """

    GATEWAY = "10.77.0.1"
    ADDRESS = "10.77.0.2"

    def __init__(self, gateway: Namespace) -> None:
        self.gateway = gateway
        self.name = f"{gateway.name}c"

    def __enter__(self) -> Client:
        subprocess.run(["ip", "netns", "add", self.name], check=True, capture_output=True)
        try:
            link = f"gv{os.getpid() % 100000}{next(_names)}"
            subprocess.run(["ip", "link", "add", link, "netns", self.gateway.name, "type", "veth",
                            "peer", "name", "lan0", "netns", self.name],
                           check=True, capture_output=True)
            self.gateway.exec_check("ip", "addr", "add", f"{self.GATEWAY}/24", "dev", link)
            self.gateway.exec_check("ip", "link", "set", link, "up")
            self.exec_check("ip", "link", "set", "lo", "up")
            self.exec_check("ip", "addr", "add", f"{self.ADDRESS}/24", "dev", "lan0")
            self.exec_check("ip", "link", "set", "lan0", "up")
            self.exec_check("ip", "route", "add", "default", "via", self.GATEWAY)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)

    def command(self, *args: str) -> list[str]:
        return ["ip", "netns", "exec", self.name, *args]

    def exec_check(self, *args: str) -> None:
        subprocess.run(self.command(*args), check=True, capture_output=True)
