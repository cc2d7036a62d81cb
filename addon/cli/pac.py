"""`guarita pac`: the proxy auto-configuration file that lists the nodes."""

from __future__ import annotations

from pathlib import Path

import click

from addon.cli.common import config_option, policy_of
from addon.errors import PolicyError
from addon.policy.pac import pac as make_pac


@click.command("pac")
@click.option("--node", "nodes", multiple=True, metavar="HOST:PORT",
              help="A node, in failover order (default: the policy's cluster.nodes).")
@config_option
def pac(nodes: tuple[str, ...], config: Path) -> None:
    """Print a PAC file listing the proxy nodes in failover order (browsers, GPO, WPAD)."""
    policy = policy_of(config)
    chosen = nodes or policy.cluster_nodes
    if not chosen:
        raise PolicyError(f"{policy.source}: no nodes: list them under cluster.nodes "
                          "or give --node HOST:PORT")
    click.echo(make_pac(chosen, policy.direct_domains), nl=False)
