"""`guarita run`: mitmproxy in-process with the guarita add-on, on the embedded default."""

from __future__ import annotations

import asyncio
import signal
import socket
from pathlib import Path
from typing import Any

import click

from addon import ca, workers
from addon.cli.common import config_option
from addon.errors import GuaritaError
from addon.policy.model import Policy
from addon.settings.holidays_apart import table_apart
from addon.settings.load import load_policy
from addon.store import ready
from addon.workers import resolve_count


@click.command()
@click.option("--listen-host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 for the whole network).")
@click.option("--listen-port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=9464, show_default=True,
              help="Prometheus /metrics port (0: off); bound to --metrics-host.")
@click.option("--metrics-host", default="127.0.0.1", show_default=True)
@click.option("--intercept", is_flag=True,
              help="Decrypt all HTTPS (clients must trust the CA of `guarita ca export`): "
                   "every request inside is decided on its own; implies --https-block-page.")
@click.option("--https-block-page", is_flag=True,
              help="Show the block page for blocked HTTPS: only a blocked tunnel is decrypted, "
                   "with the CA of `guarita ca export`; allowed HTTPS stays undecrypted.")
@click.option("--ca-cert", type=click.Path(path_type=Path, dir_okay=False),
              help="The institution's own CA certificate (PEM) instead of a generated one.")
@click.option("--ca-key", type=click.Path(path_type=Path, dir_okay=False),
              help="Its private key (PEM); refused if other users can read it.")
@click.option("--allow-localhost", is_flag=True,
              help="Allow destinations on this host's loopback (off: refused).")
@click.option("--mode", default="regular", show_default=True,
              help="mitmproxy mode (regular, or upstream:URL to chain to another proxy).")
@click.option("--session-port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Logon-script endpoint port (0: off); needs GUARITA_SESSION_TOKEN.")
@click.option("--session-host", default="127.0.0.1", show_default=True,
              help="Address the logon-script endpoint binds to.")
@click.option("--dns-port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="The DNS companion's port, UDP and TCP (0: off): the policy's `dns` section.")
@click.option("--dns-host", default="127.0.0.1", show_default=True,
              help="Address the DNS companion binds to.")
@click.option("--transparent-port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="A listener for traffic the gateway redirects (mitmproxy's transparent "
                   "mode; 0: off): decided by Host and SNI, identity by login session only.")
@click.option("--transparent-host", default="0.0.0.0", show_default=True,
              help="Address the transparent listener binds to (a redirect arrives on the "
                   "interface's own address).")
@click.option("--set", "settings", multiple=True, metavar="OPTION=VALUE",
              help="Any mitmproxy option, as mitmdump's --set (e.g. stream_large_bodies=1m).")
@click.option("--workers", default="1", show_default=True, metavar="N|auto",
              help="Proxy processes sharing the port, one per core (auto: as many as cores); "
                   "each sees the client's own address.")
@click.option("--worker-index", type=int, hidden=True)
@config_option
def run(listen_host: str, listen_port: int, metrics_port: int, metrics_host: str,
        intercept: bool, https_block_page: bool, ca_cert: Path | None, ca_key: Path | None,
        allow_localhost: bool, mode: str, session_port: int, session_host: str,
        dns_port: int, dns_host: str, transparent_port: int, transparent_host: str,
        settings: tuple[str, ...], workers: str,
        worker_index: int | None, config: Path) -> None:
    """Start the proxy with the add-on, the audit log and a Prometheus endpoint."""
    # fail fast, one line, before starting anything; the holiday table from a child, as the
    # proxy's own reloads will have it (this process becomes the proxy: no `holidays` in it)
    policy = load_policy(config, holidays=table_apart)
    count = 1 if worker_index is not None else resolve_count(workers)
    if (ca_cert is None) != (ca_key is None):
        raise click.UsageError("--ca-cert and --ca-key go together")
    if ca_cert is not None and ca_key is not None:
        ca.install(ca_cert, ca_key, policy.paths.state_dir)
    confdir = ca.ensure(policy.paths.state_dir)
    if worker_index is None:  # a worker's supervisor prepared them before starting it
        ready.prepare(policy.paths, config)  # the databases at this schema, in a child
    for item in settings:
        if "=" not in item:
            raise GuaritaError(f"--set {item!r}: use OPTION=VALUE")
    if count > 1:
        flags = [name for name, on in (("--intercept", intercept),
                                       ("--https-block-page", https_block_page),
                                       ("--allow-localhost", allow_localhost)) if on]
        flags += [arg for item in settings for arg in ("--set", item)]
        if dns_port:  # worker 0 answers DNS, as it serves the logon endpoint
            flags += ["--dns-host", dns_host, "--dns-port", str(dns_port)]
        if transparent_port:  # and the redirected traffic
            flags += ["--transparent-host", transparent_host,
                      "--transparent-port", str(transparent_port)]
        _supervise(count, policy, listen_host, listen_port, metrics_host, metrics_port,
                   session_host, session_port, mode, flags, config)
        return
    if worker_index:
        dns_port = transparent_port = 0  # on worker 0 only (the flags are every worker's)
    if worker_index is not None:
        from addon.proxy import listener

        listener.share_port()
    else:  # every port named before anything is printed as started
        for host, port in ((listen_host, listen_port), (metrics_host, metrics_port),
                           (session_host, session_port), (dns_host, dns_port),
                           (transparent_host, transparent_port)):
            if port:
                _check_free(host, port)
    guarita_options = {
        "guarita_https_block_page": https_block_page or intercept,
        "guarita_policy": str(config),
        "guarita_metrics_port": metrics_port,
        "guarita_metrics_host": metrics_host,
        "guarita_intercept": intercept,
        "guarita_allow_localhost": allow_localhost,
        "guarita_session_port": session_port,
        "guarita_session_host": session_host,
        "guarita_notifier": not worker_index,  # one sender per machine: worker 0
        "guarita_forwarder": not worker_index,  # and one forwarder
    }
    modes = [mode, *([f"dns@{dns_host}:{dns_port}"] if dns_port else []),
             *([f"transparent@{transparent_host}:{transparent_port}"] if transparent_port
               else [])]
    asyncio.run(_serve(listen_host, listen_port, modes, guarita_options,
                       str(policy.paths.state_dir), list(settings), confdir, worker_index))


def _check_free(host: str, port: int) -> None:
    """GuaritaError naming the port when something already listens there. (mitmproxy binds
    later, inside its own start-up, and says only "--mode regular@PORT" advice.)"""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise GuaritaError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def _supervise(count: int, policy: Policy, host: str, port: int, metrics_host: str,
               metrics_port: int, session_host: str, session_port: int, mode: str,
               flags: list[str], config: Path) -> None:
    """Reserve the port, prepare the databases once, start and watch the workers."""
    reserved = workers.reserve_port(host, port)
    port = reserved.getsockname()[1]
    metrics_dir = workers.metrics_directory()
    stop_metrics = (workers.serve_metrics(metrics_dir, metrics_host, metrics_port)
                    if metrics_port else None)

    def command(index: int) -> list[str]:
        return workers.worker_command([
            "run", "--worker-index", str(index), "--listen-host", host, "--listen-port",
            str(port), "--metrics-port", "0", "--mode", mode, "--session-host", session_host,
            "--session-port", str(session_port if index == 0 else 0), "--config", str(config),
            *flags])

    supervisor = workers.Supervisor(count, command, metrics_dir)
    _banner(host, port, str(config), str(policy.paths.state_dir), metrics_host, metrics_port,
            session_host, session_port)
    click.echo(f"guarita: {count} workers on {host}:{port}")
    try:
        code = supervisor.serve()
    finally:
        if stop_metrics is not None:
            stop_metrics()
        workers.remove_metrics_directory(metrics_dir)
        reserved.close()
    click.echo("guarita: stopped; audit log flushed" if code == 0
               else "guarita: stopped; a worker did not stop cleanly")
    if code:
        raise SystemExit(code)


def _banner(host: str, port: int, config: str, state_dir: str, metrics_host: str,
            metrics_port: int, session_host: str, session_port: int) -> None:
    shown = "localhost" if host in ("127.0.0.1", "::1") else host
    click.echo(f"guarita: proxy on {host}:{port} (policy {config}, state {state_dir})")
    click.echo(f"guarita: point a browser's HTTP and HTTPS proxy at {shown}:{port}, "
               f"or: curl -x http://{shown}:{port} http://www.gov.br/")
    if metrics_port:
        click.echo(f"guarita: metrics at http://{metrics_host}:{metrics_port}/metrics")
    if session_port:
        click.echo(f"guarita: logon-script endpoint at http://{session_host}:{session_port}/login")


def _quiet_cancellation(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """A connection cancelled by the stop is no error. mitmproxy keeps a DNS client's UDP
    "connection" open until it idles out; at a stop, asyncio's stream callback reports each
    one cancelled with a traceback. Everything else goes to asyncio's own handler."""
    if isinstance(context.get("exception"), asyncio.CancelledError):
        return
    loop.default_exception_handler(context)


async def _serve(host: str, port: int, modes: list[str], guarita_options: dict[str, object],
                 state_dir: str, extra: list[str], confdir: Path,
                 worker_index: int | None) -> None:
    from mitmproxy import options
    from mitmproxy.tools.dump import DumpMaster

    from addon.proxy import make_addons

    opts = options.Options(listen_host=host, listen_port=port, mode=modes, confdir=str(confdir))
    master = DumpMaster(opts, with_termlog=True, with_dumper=False)
    dns = any(m.startswith("dns@") for m in modes)
    transparent = any(m.startswith("transparent@") for m in modes)
    chain = make_addons(dns=dns, transparent=transparent)
    master.addons.add(*chain)
    if dns:  # the DNS guard before mitmproxy's resolver: a refused name is never asked
        master.addons.chain.insert(0, master.addons.chain.pop())
    reload = chain[0].parts[0]  # type: ignore[attr-defined]
    try:
        # nothing reaches an upstream before the SNI is decided; HTTP/3 has no CONNECT to decide
        master.options.update(connection_strategy="lazy", http3=False, **guarita_options)
        if extra:
            master.options.set(*extra)
    except Exception as exc:
        raise GuaritaError(str(exc)) from exc
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_quiet_cancellation)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, master.shutdown)
    # `systemctl reload`: re-read everything, off the event loop
    loop.add_signal_handler(signal.SIGHUP, lambda: loop.run_in_executor(None, reload.hangup))
    if worker_index is None:
        o = guarita_options
        _banner(host, port, str(o["guarita_policy"]), state_dir, str(o["guarita_metrics_host"]),
                int(str(o["guarita_metrics_port"])), str(o["guarita_session_host"]),
                int(str(o["guarita_session_port"])))
        for m in modes:
            if m.startswith("transparent@"):
                click.echo(f"guarita: transparent listener on {m.partition('@')[2]}, for "
                           "traffic the gateway redirects (identity by login session only)")
    await master.run()
    click.echo("guarita: stopped; audit log flushed" if worker_index is None
               else f"guarita: worker {worker_index} stopped; its audit queue written")
