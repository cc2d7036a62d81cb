"""`guarita ca`: the certificate clients trust so that blocked HTTPS can show a page."""

from __future__ import annotations

from pathlib import Path

import click
from cryptography.hazmat.primitives import hashes

from addon import ca
from addon.cli.common import config_option, policy_of
from addon.errors import GuaritaError


@click.group("ca")
def ca_group() -> None:
    """The proxy's certificate authority (for the HTTPS block page)."""


@ca_group.command("export")
@click.argument("out", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--der", is_flag=True, help="DER instead of PEM (Windows' certutil and GPO take both).")
@click.option("--ca-cert", type=click.Path(path_type=Path, dir_okay=False),
              help="The institution's own CA certificate (PEM), installed first.")
@click.option("--ca-key", type=click.Path(path_type=Path, dir_okay=False),
              help="Its private key (PEM, readable by its owner only).")
@config_option
def export(out: Path, der: bool, ca_cert: Path | None, ca_key: Path | None, config: Path) -> None:
    """Write the CA certificate (never its key) that the institution's machines must trust.

    The CA is made on first use in the state folder, or is the institution's own when
    --ca-cert and --ca-key are given (here or to `guarita run`).
    """
    state = policy_of(config).paths.state_dir
    if (ca_cert is None) != (ca_key is None):
        raise click.UsageError("--ca-cert and --ca-key go together")
    if not state.is_dir():
        # a new CA here would be one the institution's machines do not trust: never silently
        raise GuaritaError(f"the state folder {state} does not exist, so there is no CA to "
                           "export (is this the policy the proxy runs with? its paths.state "
                           "names the folder); create it, or run the proxy once, to make the CA")
    if ca_cert is not None and ca_key is not None:
        ca.install(ca_cert, ca_key, state)
    cert = ca.export(state, out, der)
    fingerprint = cert.fingerprint(hashes.SHA256()).hex(":").upper()
    click.echo(f"{out}: {cert.subject.rfc4514_string()}, valid until "
               f"{cert.not_valid_after_utc:%Y-%m-%d}, SHA-256 {fingerprint}")
