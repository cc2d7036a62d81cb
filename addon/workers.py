"""`guarita run --workers N`: one supervisor, N mitmproxy worker processes on one port.

One mitmproxy process uses one core. The supervisor binds the port (so a port in use
is one error line before anything starts, and port 0 becomes a real port the workers
share), starts N workers that each join the port's SO_REUSEPORT group
(`addon/proxy/listener.py`), and then only watches: a worker that dies is started
again (a worker that keeps dying stops everything, with its last words); SIGTERM and
SIGINT stop every worker, each writing its audit queue before it exits; SIGHUP is
passed to every worker. Metrics: every worker writes its own files in one directory
(prometheus-client's multiprocess mode) and the supervisor alone serves /metrics,
summed over the workers, dead ones' counters included.

Only worker 0 runs what must run once per machine: the logon-script endpoint (one
port) and the notification worker (one sender, or mail goes out twice).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from addon.errors import GuaritaError

log = logging.getLogger("guarita")
CRASH_WINDOW = 30.0  # seconds
CRASH_LIMIT = 5  # deaths of one worker within the window that stop everything
STOP_GRACE = 60.0  # seconds a worker has to write its audit queue after SIGTERM


def resolve_count(value: str) -> int:
    """`auto` is the cores this process may run on; otherwise a positive integer."""
    if value == "auto":
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
    try:
        n = int(value)
    except ValueError:
        n = 0
    if not 1 <= n <= 256:
        raise GuaritaError(f"--workers {value!r}: a number from 1 to 256, or auto")
    return n


def reserve_port(host: str, port: int) -> socket.socket:
    """Bind (never listen) the shared port: it is ours while workers come and go."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise GuaritaError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


@dataclass
class Worker:
    index: int
    proc: subprocess.Popen[bytes]
    deaths: deque[float] = field(default_factory=deque)


class Supervisor:
    """Starts, watches and stops the workers; `command(i)` is worker i's command line."""

    def __init__(self, count: int, command: Callable[[int], Sequence[str]],
                 metrics_dir: str, env: dict[str, str] | None = None) -> None:
        self.count = count
        self.command = command
        self.metrics_dir = metrics_dir
        self.env = {**(env if env is not None else os.environ),
                    "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
        self.workers: list[Worker] = []
        self.restarts = 0
        self._stopping = False
        self._hangup = False

    def _spawn(self, index: int) -> subprocess.Popen[bytes]:
        return subprocess.Popen(list(self.command(index)), env=self.env)

    def start(self) -> None:
        self.workers = [Worker(i, self._spawn(i)) for i in range(self.count)]

    def request_stop(self, *_: object) -> None:
        self._stopping = True

    def request_hangup(self, *_: object) -> None:
        self._hangup = True

    def pids(self) -> list[int]:
        return [w.proc.pid for w in self.workers]

    def check(self, now: float | None = None) -> None:
        """One round: pass on a SIGHUP, start again any worker that died."""
        now = time.monotonic() if now is None else now
        if self._hangup:
            self._hangup = False
            for w in self.workers:
                if w.proc.poll() is None:
                    w.proc.send_signal(signal.SIGHUP)
        for w in self.workers:
            code = w.proc.poll()
            if code is None or self._stopping:
                continue
            _mark_dead(w.proc.pid, self.metrics_dir)
            w.deaths.append(now)
            while w.deaths and now - w.deaths[0] > CRASH_WINDOW:
                w.deaths.popleft()
            if len(w.deaths) >= CRASH_LIMIT:
                raise GuaritaError(f"worker {w.index} exited {len(w.deaths)} times in "
                                   f"{CRASH_WINDOW:.0f} s (last code {code}); stopping")
            log.warning("guarita: worker %d (pid %d) exited with code %s; starting it again",
                        w.index, w.proc.pid, code)
            w.proc = self._spawn(w.index)
            self.restarts += 1

    def stop(self) -> list[int | None]:
        """SIGTERM to all, wait for each to write its audit queue; the codes they exited with."""
        for w in self.workers:
            if w.proc.poll() is None:
                w.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        codes: list[int | None] = []
        for w in self.workers:
            try:
                codes.append(w.proc.wait(max(0.1, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                log.error("guarita: worker %d did not stop in %.0f s; killed", w.index, STOP_GRACE)
                w.proc.kill()
                codes.append(w.proc.wait())
        return codes

    def serve(self, poll: float = 0.2) -> int:
        """Run until SIGTERM/SIGINT; the exit code for the shell."""
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGHUP, self.request_hangup)
        self.start()
        try:
            while not self._stopping:
                self.check()
                time.sleep(poll)
        except GuaritaError:
            self.stop()
            raise
        codes = self.stop()
        return 0 if all(c in (0, -signal.SIGTERM) for c in codes) else 1


def _mark_dead(pid: int, metrics_dir: str) -> None:
    """Drop a dead worker's live gauges (its counters keep counting in the sum)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid, metrics_dir)


def metrics_directory() -> str:
    return tempfile.mkdtemp(prefix="guarita-metrics-")


def serve_metrics(metrics_dir: str, host: str, port: int) -> Callable[[], None]:
    """The one /metrics for all workers, summed by prometheus-client's multiprocess collector;
    returns what stops it."""
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=metrics_dir)
    try:
        httpd, _thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise GuaritaError(f"metrics port {port}: {exc.strerror or exc}") from exc
    return httpd.shutdown


def remove_metrics_directory(metrics_dir: str) -> None:
    shutil.rmtree(metrics_dir, ignore_errors=True)


def worker_command(args: Sequence[str]) -> list[str]:
    """This interpreter running guarita's CLI: the same install the supervisor runs from."""
    return [sys.executable, "-m", "addon.cli.main", *args]
