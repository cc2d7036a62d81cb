"""`guarita console`: the web console for the committee, IT, auditors and end users."""

from __future__ import annotations

from pathlib import Path

import click

from addon.cli.common import config_option
from addon.errors import GuaritaError


@click.command("console")
@click.option("--listen-host", default="127.0.0.1", show_default=True,
              help="Address to listen on; put a TLS reverse proxy in front for the network.")
@click.option("--port", type=click.IntRange(1, 65535), default=8081, show_default=True)
@click.option("--secure-cookie", is_flag=True,
              help="Mark the session cookie Secure (when served over TLS by a reverse proxy).")
@config_option
def console(listen_host: str, port: int, secure_cookie: bool, config: Path) -> None:
    """Serve the web console (Portuguese pages and a JSON API) with waitress."""
    import waitress

    from addon.console.app import create_app

    app = create_app(config, secure_cookie)
    try:  # bound here, so that a port in use is one line and nothing is said to have started
        server = waitress.create_server(app, host=listen_host, port=port, threads=8,
                                        ident="guarita")
    except OSError as exc:
        raise GuaritaError(f"cannot listen on {listen_host}:{port}: "
                           f"{exc.strerror or exc}") from exc
    click.echo(f"guarita: console on http://{listen_host}:{port}/ (policy {config})")
    server.run()
