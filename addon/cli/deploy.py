"""`guarita deploy chrome|edge|firefox|nftables`: the deployment pack, from the policy."""

from __future__ import annotations

import json
from pathlib import Path

import click
from cryptography.hazmat.primitives import serialization

from addon import ca
from addon.cli.common import config_option, policy_of
from addon.errors import GuaritaError
from addon.policy import deploy as pack

TARGETS = {"chrome": pack.chrome, "edge": pack.edge, "firefox": pack.firefox}


@click.command("deploy")
@click.argument("target", type=click.Choice(["chrome", "edge", "firefox", "nftables"]))
@click.option("--pac-url", help="Where browsers fetch the PAC file (default: the policy's "
                                "console.url + /proxy.pac; without either, the nodes).")
@click.option("--proxy-address", "nodes", multiple=True, metavar="HOST:PORT",
              help="A proxy node (repeatable; default: the policy's cluster.nodes).")
@click.option("--dns", multiple=True, metavar="IP",
              help="The institution's resolvers: the only DNS the gateway lets out (nftables).")
@click.option("--ca-file", default="guarita-ca.pem", show_default=True,
              help="Where Firefox finds the proxy's CA on the machines (`guarita ca export`).")
@config_option
def deploy(target: str, pac_url: str | None, nodes: tuple[str, ...], dns: tuple[str, ...],
           ca_file: str, config: Path) -> None:
    """Print the browser policy (JSON) or the gateway's ruleset (nftables) that keeps every
    machine on the proxy: docs/deployment.md says how each is rolled out."""
    policy = policy_of(config)
    if pac_url is None and policy.console_url:
        pac_url = policy.console_url + "/proxy.pac"
    ca.ensure(policy.paths.state_dir)
    der = ca.certificate(policy.paths.state_dir).public_bytes(serialization.Encoding.DER)
    rollout = pack.Rollout(nodes=nodes or policy.cluster_nodes, pac_url=pac_url,
                           direct_domains=policy.direct_domains, ca_der=der, ca_file=ca_file,
                           dns=dns)
    try:
        if target == "nftables":
            click.echo(pack.nftables(rollout), nl=False)
        else:
            click.echo(json.dumps(TARGETS[target](rollout), indent=2))
    except ValueError as exc:
        raise GuaritaError(f"deploy {target}: {exc}") from exc
