"""deploy: the browsers' policies use names the browsers know, the gateway's ruleset is
one nft accepts, and each refuses what it cannot make."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from addon.policy import deploy
from tests.conftest import ROOT, Workspace

CHROMIUM = Path("/usr/lib/chromium/chromium")
FIREFOX = json.loads((ROOT / "tests" / "data" / "firefox-policies-excerpt.json").read_text())
PAC = deploy.Rollout(nodes=("10.0.0.2:3128",), pac_url="https://guarita.intra/proxy.pac",
                     ca_der=b"\x30\x03\x02\x01\x01")
FIXED = deploy.Rollout(nodes=("10.0.0.2:3128", "10.0.0.3:3128"), direct_domains=("intra.gov.br",))


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium not installed")
@pytest.mark.parametrize("make", [deploy.chrome, deploy.edge])
def test_every_chromium_policy_name_is_one_chromium_knows(make: Any) -> None:
    known = CHROMIUM.read_bytes()
    for rollout in (PAC, FIXED):
        policy = make(rollout)
        names = set(policy) | set(policy["ProxySettings"])
        for name in names:  # policy names and ProxySettings' keys live in the binary
            assert name.encode() in known, name
        assert b"NoSuchPolicyName" not in known  # the check can fail


def test_chrome_turns_off_quic_doh_and_ech_and_trusts_the_ca() -> None:
    policy = deploy.chrome(PAC)
    assert policy["ProxySettings"] == {"ProxyMode": "pac_script",
                                       "ProxyPacUrl": "https://guarita.intra/proxy.pac"}
    assert (policy["QuicAllowed"], policy["DnsOverHttpsMode"],
            policy["EncryptedClientHelloEnabled"]) == (False, "off", False)
    assert policy["CACertificates"] == ["MAMCAQE="]
    fixed = deploy.chrome(FIXED)["ProxySettings"]
    assert fixed["ProxyServer"] == "10.0.0.2:3128" and "*.intra.gov.br" in fixed["ProxyBypassList"]


def conforms(value: Any, schema: dict[str, Any], where: str = "") -> None:
    kind = schema.get("type")
    if kind == "object":
        assert isinstance(value, dict), where
        for key, sub in value.items():
            spec = schema.get("properties", {}).get(key)
            if spec is None:
                spec = next((s for p, s in schema.get("patternProperties", {}).items()
                             if re.match(p, key)), None)
            assert spec is not None, f"{where}.{key}: not a property Firefox knows"
            conforms(sub, spec, f"{where}.{key}")
    elif kind == "boolean":
        assert isinstance(value, bool), where
    elif kind in ("string", "URLorEmpty"):
        assert isinstance(value, str), where
    elif kind == "array":
        assert isinstance(value, list), where
        for item in value:
            conforms(item, schema["items"], where + "[]")
    if "enum" in schema:
        assert value in schema["enum"], where


@pytest.mark.parametrize("rollout", [PAC, FIXED])
def test_firefox_policies_conform_to_mozillas_schema(rollout: deploy.Rollout) -> None:
    out = deploy.firefox(rollout)
    conforms(out["policies"], {"type": "object", **FIREFOX}, "policies")
    assert out["policies"]["DNSOverHTTPS"] == {"Enabled": False, "Locked": True}
    with pytest.raises(AssertionError, match="not a property"):
        conforms({"Proxy": {"Mdoe": "manual"}}, {"type": "object", **FIREFOX})


def test_nothing_to_point_at_and_names_the_gateway_cannot_use_are_refused() -> None:
    for make in (deploy.chrome, deploy.firefox):
        with pytest.raises(ValueError, match="nothing to point the browsers at"):
            make(deploy.Rollout(nodes=()))
    with pytest.raises(ValueError, match="'proxy.intra' is a name"):
        deploy.nftables(deploy.Rollout(nodes=("proxy.intra:3128",)))


@pytest.mark.skipif(shutil.which("nft") is None, reason="nftables not installed")
def test_the_gateways_ruleset_is_one_nft_accepts(tmp_path: Path) -> None:
    ruleset = deploy.nftables(deploy.Rollout(nodes=("10.0.0.2:3128", "[2001:db8::2]:3128"),
                                             dns=("10.0.0.53",)))
    assert "udp dport 443 counter drop" in ruleset and "th dport 853" in ruleset
    path = tmp_path / "guarita.nft"
    path.write_text(ruleset)
    cp = subprocess.run(["nft", "-c", "-f", str(path)], capture_output=True, text=True)
    assert cp.returncode == 0, cp.stderr
    path.write_text(ruleset.replace("policy accept", "policy acept"))  # the check can fail
    assert subprocess.run(["nft", "-c", "-f", str(path)], capture_output=True).returncode != 0


def test_the_command_prints_each_from_the_policy(ws: Workspace) -> None:
    cp = ws.run("deploy", "chrome", "--pac-url", "https://guarita.intra/proxy.pac", check=True)
    assert json.loads(cp.stdout)["ProxySettings"]["ProxyMode"] == "pac_script"
    cp = ws.run("deploy", "nftables")
    assert cp.returncode == 2 and "no proxy node" in cp.stderr and "Traceback" not in cp.stderr
