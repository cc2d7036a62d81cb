"""The PAC file: nodes in failover order, checked by a real Chromium that follows it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from addon.policy.pac import pac
from addon.settings.load import load_policy
from tests.conftest import Workspace, free_port, start_proxy
from tests.support import browser as web


def test_nodes_in_order_and_never_direct_at_the_end() -> None:
    text = pac(["p1.exemplo.gov.br:3128", "p2.exemplo.gov.br:3128"], ["*.exemplo.gov.br"])
    assert 'return "PROXY p1.exemplo.gov.br:3128; PROXY p2.exemplo.gov.br:3128";' in text
    assert '["exemplo.gov.br"]' in text
    assert "DIRECT\";\n}" not in text  # when every node is down the browser fails, not bypasses


def test_the_policy_names_the_nodes_and_cli_prints_them(ws: Workspace) -> None:
    tree = yaml.safe_load(ws.config.read_text())
    tree["cluster"] = {"nodes": ["p1:3128", "p2:3128"], "direct_domains": ["intranet.local"]}
    ws.config.write_text(yaml.safe_dump(tree, allow_unicode=True))
    assert load_policy(ws.config).cluster_nodes == ("p1:3128", "p2:3128")
    out = ws.run("pac", check=True).stdout
    assert "PROXY p1:3128; PROXY p2:3128" in out and "intranet.local" in out
    tree["cluster"] = {"nodes": ["sem-porta"]}
    ws.config.write_text(yaml.safe_dump(tree, allow_unicode=True))
    bad = ws.run("pac")
    assert bad.returncode == 2 and "cluster.nodes[0]: must be host:port" in bad.stderr


@pytest.mark.e2e
@pytest.mark.skipif(not web.available(), reason="needs Debian chromium and chromium-driver")
def test_a_browser_following_the_pac_fails_over_to_the_live_node(ws: Workspace,
                                                                 tmp_path: Path) -> None:
    """The PAC served by `guarita console` at /proxy.pac names a node that is down, then a
    live one: Chromium, configured only with the PAC's address, reaches the live node."""
    import subprocess
    import urllib.request

    from tests.conftest import guarita_cmd, wait_until

    proxy = start_proxy(ws)
    dead = free_port()  # a node that is down: nothing listens there
    tree = yaml.safe_load(ws.config.read_text())
    tree["cluster"] = {"nodes": [f"127.0.0.1:{dead}", f"127.0.0.1:{proxy.port}"]}
    ws.config.write_text(yaml.safe_dump(tree, allow_unicode=True))
    ws.run("session", "login", "servidor", "127.0.0.1", check=True)
    # a blocked site on no HSTS preload list: Chromium asks for it over plain HTTP
    ws.run("categories", "add", "games", "jogos.example.org", check=True)
    port = free_port()
    console = subprocess.Popen([*guarita_cmd(), "console", "--port", str(port), "--config",
                                str(ws.config)], cwd=ws.root, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    pac_url = f"http://127.0.0.1:{port}/proxy.pac"

    def served() -> bool:
        try:
            r = urllib.request.urlopen(pac_url, timeout=1)
            return r.headers["Content-Type"] == "application/x-ns-proxy-autoconfig"
        except OSError:
            return False

    b = None
    try:
        wait_until(served, timeout=30, what="the PAC")
        b = web.Browser(tmp_path / "managed", None, [], pac_url=pac_url)
        wait_until(lambda: "Acesso bloqueado" in b.open("http://jogos.example.org/"),
                   timeout=30, what="the block page through the second node")
    finally:
        if b is not None:
            b.quit()
        console.terminate()
        console.wait(10)
        proxy.stop()
        proxy.net.stop()
