"""Shared fixtures: a throw-away copy of the shipped policy and lists, the CLI, a real proxy."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.support import kdc as kerberos
from tests.support import postgres as pg_support
from tests.support.fakenet import FakeNet

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def guarita_cmd() -> list[str]:
    exe = BIN / "guarita"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "addon.cli.main"]


@dataclass
class Workspace:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config" / "policy.yaml"

    @property
    def var(self) -> Path:
        return self.root / "var"

    def run(self, *args: str, check: bool = False, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        cp = subprocess.run([*guarita_cmd(), *args], cwd=self.root, capture_output=True,
                            text=True, timeout=timeout, env={**os.environ, "GUARITA_CONFIG": ""} | {
                                "GUARITA_CONFIG": str(self.config)})
        if check and cp.returncode != 0:
            raise AssertionError(f"guarita {' '.join(args)} -> {cp.returncode}\n{cp.stdout}\n{cp.stderr}")
        return cp

    def check(self, url: str, *args: str) -> tuple[int, dict]:
        cp = self.run("check", url, "--json", *args)
        assert cp.returncode in (0, 1), cp.stderr
        return cp.returncode, json.loads(cp.stdout)


def copy_shipped(folder: Path) -> Workspace:
    """Copies of config/ and categories/ in `folder`: the shipped policy names its state
    (`../var`) beside itself, so a test's state must come with a copy, never the checkout's."""
    shutil.copytree(ROOT / "config", folder / "config")
    shutil.copytree(ROOT / "categories", folder / "categories")
    return Workspace(folder)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """A working folder with copies of config/ and categories/, as an operator has."""
    return copy_shipped(tmp_path)


@pytest.fixture(scope="session")
def postgres() -> Iterator[pg_support.Postgres]:
    """A real PostgreSQL for the whole run (Debian postgresql: initdb + pg_ctl, loopback)."""
    if not pg_support.available():
        pytest.skip("needs Debian postgresql (initdb, pg_ctl); the test command installs it")
    server = pg_support.start()
    yield server
    server.destroy()


_databases = itertools.count()


def use_postgres(ws: Workspace, server: pg_support.Postgres) -> str:
    """Point the workspace's policy at a fresh database of the server; returns its URL."""
    url = server.create_database(f"guarita_{os.getpid()}_{next(_databases)}")
    tree = yaml.safe_load(ws.config.read_text())
    tree["storage"] = {"database": url}
    ws.config.write_text(yaml.safe_dump(tree, allow_unicode=True))
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """Run a test against both storage backends (one suite, the same assertions)."""
    return str(request.param)


@pytest.fixture
def any_ws(ws: Workspace, backend: str, request: pytest.FixtureRequest) -> Workspace:
    """`ws`, with its state and audit in SQLite files or in a real PostgreSQL."""
    if backend == "postgresql":
        use_postgres(ws, request.getfixturevalue("postgres"))
    return ws


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proxy:
    ws: Workspace
    port: int
    net: FakeNet
    proc: subprocess.Popen[str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> str:
        return stop_process(self.proc)


def stop_process(proc: subprocess.Popen[str]) -> str:
    """SIGTERM (a graceful stop: the audit queue is written), SIGKILL after 30 s; its output."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.stdout.read() if proc.stdout else ""


def proxied_get(proxy: Proxy, path: str, host: str = "www.gov.br") -> int:
    """The status of one plain-HTTP GET through the proxy, on a connection of its own."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy.url}))
    try:
        with opener.open(f"http://{host}{path}", timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def wait_until(predicate: Callable[[], object], timeout: float = 15.0, what: str = "") -> None:
    """Poll until `predicate()` is true: end-to-end tests wait for a fact, never a fixed time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")


def start_proxy(ws: Workspace, *extra: str, upstream: bool = True,
                env: dict[str, str] | None = None) -> Proxy:
    """A real `guarita run`; by default chained to a local fake internet (no DNS, no network)."""
    net = FakeNet().start()
    port = free_port()
    mode = ["--mode", f"upstream:http://127.0.0.1:{net.port}"] if upstream else []
    proc = subprocess.Popen(
        [*guarita_cmd(), "run", "--listen-port", str(port), "--metrics-port", "0",
         *mode, "--config", str(ws.config), *extra],
        cwd=ws.root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"guarita run exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise AssertionError("guarita run did not listen within 30 s")
    return Proxy(ws, port, net, proc)


@pytest.fixture
def proxy(ws: Workspace) -> Iterator[Proxy]:
    p = start_proxy(ws)
    yield p
    p.stop()
    p.net.stop()


@pytest.fixture(scope="session")
def kdc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[kerberos.Kdc]:
    """A real MIT Kerberos KDC for the whole run (Debian krb5-kdc; gssapi from PyPI)."""
    if not kerberos.available():
        pytest.skip("needs Debian krb5-kdc, krb5-admin-server and krb5-user")
    pytest.importorskip("gssapi")
    k = kerberos.start(tmp_path_factory.mktemp("kdc"))
    yield k
    k.stop()


def use_kerberos(ws: Workspace, k: kerberos.Kdc, **extra: object) -> None:
    """Turn on Negotiate in the workspace's policy, with the KDC's proxy keytab."""
    tree = yaml.safe_load(ws.config.read_text())
    tree["directory"]["authentication"]["negotiate"] = {
        "keytab": str(k.keytab), "principal": kerberos.SERVICE, **extra}
    ws.config.write_text(yaml.safe_dump(tree, allow_unicode=True))
