"""The one host normaliser: every spelling of a host decides as its canonical form."""

from __future__ import annotations

import ipaddress
import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from addon.errors import HostError
from addon.policy.hosts import host_of_url, host_suffixes, normalize_host


@pytest.mark.parametrize("raw, canonical", [
    ("WWW.Gov.BR", "www.gov.br"),
    ("www.gov.br.", "www.gov.br"),
    ("www.gov.br:8443", "www.gov.br"),
    ("2130706433", "127.0.0.1"),
    ("0x7f000001", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"),
    ("127.1", "127.0.0.1"),
    ("0x7f.0.0.1", "127.0.0.1"),
    ("[::ffff:127.0.0.1]:443", "127.0.0.1"),
    ("[2001:DB8::0:1]", "2001:db8::1"),
    ("bücher.de", "xn--bcher-kva.de"),
    ("BÜCHER.de.", "xn--bcher-kva.de"),
    ("_dmarc.example.com", "_dmarc.example.com"),
])
def test_spellings_normalise_to_one_form(raw: str, canonical: str) -> None:
    assert normalize_host(raw) == canonical


@pytest.mark.parametrize("raw", [
    "", ".", "exa mple.com", "a..b", "-bad.com", "256.1.1.1", "1.2.3.4.5", "0x1g.0.0.1",
    "[::1", "exa%20mple.com", "a" * 64 + ".com", "xn--zz.com", "08.0.0.1",
    # a user name, or what a form field can smuggle after the host (issue 25)
    "user:secret@www.gov.br", "www.pornhub.com\r\nBcc: intruso@evil.example",
    "www.pornhub.com evil.example", "www.gov\tbr", "www.gov\x00.br",
])
def test_garbage_is_rejected(raw: str) -> None:
    with pytest.raises(HostError):
        normalize_host(raw)


def test_suffixes_most_specific_first_and_ip_only_itself() -> None:
    assert host_suffixes("a.b.gov.br") == ["a.b.gov.br", "b.gov.br", "gov.br", "br"]
    assert host_suffixes("10.0.0.1") == ["10.0.0.1"]


def test_url_parsing() -> None:
    assert host_of_url("HTTPS://WWW.Gov.BR:443/a?b=1") == ("https", "www.gov.br", 443, "/a?b=1")
    assert host_of_url("gov.br") == ("http", "gov.br", 80, "/")
    for bad in ("http://exa mple.com/", "ftp://x.com/", "http://x.com:99999/", "http://\x00.com"):
        with pytest.raises(HostError):
            host_of_url(bad)


labels = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=12)
# A name whose last label is numeric (`1`, `0x`, `0x1f`) is an IPv4 address (WHATWG).
names = st.lists(labels, min_size=2, max_size=4).map(".".join).filter(
    lambda n: not re.fullmatch(r"0x[0-9a-f]*|[0-9]+", n.split(".")[-1]))


@given(names, st.sampled_from(["upper", "dot", "port", "all"]))
def test_every_spelling_of_a_name_is_its_canonical_form(name: str, how: str) -> None:
    spelled = {
        "upper": name.upper(), "dot": name + ".", "port": f"{name}:8080",
        "all": f" {name.upper()}.:443",
    }[how]
    assert normalize_host(spelled) == normalize_host(name) == name


@given(names)
def test_a_url_user_name_is_taken_off_by_the_url_parser_never_by_the_host(name: str) -> None:
    assert host_of_url(f"http://u:p@{name}:8080/x")[1] == name
    with pytest.raises(HostError):
        normalize_host(f"u:p@{name}")


@given(st.integers(min_value=0, max_value=2**32 - 1), st.sampled_from(["dec", "hex", "oct", "dotted-hex"]))
def test_every_ipv4_spelling_is_dotted_decimal(value: int, how: str) -> None:
    addr = ipaddress.IPv4Address(value)
    octets = str(addr).split(".")
    spelled = {
        "dec": str(value), "hex": hex(value),
        "oct": ".".join("0" + oct(int(o))[2:] if int(o) else "0" for o in octets),
        "dotted-hex": ".".join(hex(int(o)) for o in octets),
    }[how]
    assert normalize_host(spelled) == str(addr)


@given(st.text(alphabet="äöüçãéíñ" + string.ascii_lowercase, min_size=1, max_size=10))
def test_idn_unicode_and_punycode_agree(label: str) -> None:
    try:
        canonical = normalize_host(f"{label}.com.br")
    except HostError:
        return
    assert normalize_host(canonical) == canonical
    assert canonical.isascii()


def test_a_client_address_has_one_spelling() -> None:
    from addon.errors import HostError
    from addon.policy.hosts import canonical_ip

    assert canonical_ip(" ::ffff:10.0.0.5 ") == "10.0.0.5"
    assert canonical_ip("[2001:DB8:0::1]") == "2001:db8::1"
    with pytest.raises(HostError, match="invalid IP address 'x'"):
        canonical_ip("x")


def test_within_is_the_domain_or_its_subdomains_never_a_lookalike() -> None:
    from addon.policy.hosts import within

    assert within("youtube.com", "youtube.com") and within("m.youtube.com", "youtube.com")
    assert not within("notyoutube.com", "youtube.com") and not within("youtube.com", "m.youtube.com")
