#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian machine with Python 3.11, then lint,
# type-check and run the tests with per-module coverage (subprocesses included).
set -euo pipefail
cd "$(dirname "$0")/.."
# Real servers for the tests, from Debian: OpenLDAP (directory), MIT Kerberos (KDC, kinit,
# and the headers the gssapi package builds against), curl.
# A headless Chromium driven by selenium, with NSS's certutil for its trust store.
# PostgreSQL (initdb + pg_ctl as a plain process; the tests never use the Debian cluster).
# rsyslog with its TLS driver, as the SIEM receiver (a plain process with its own config);
# nftables, to check the gateway ruleset `guarita deploy nftables` writes (nft -c); dig
# (bind9-dnsutils), to ask the DNS companion.
packages=(slapd ldap-utils curl krb5-kdc krb5-admin-server krb5-user libkrb5-dev
          chromium chromium-driver libnss3-tools postgresql rsyslog rsyslog-gnutls nftables
          bind9-dnsutils)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ] && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) \
    || { echo "error: could not install ${missing[*]} from Debian; the tests need them" >&2; exit 1; }
elif [ "${#missing[@]}" -gt 0 ]; then
  echo "warning: not root, cannot install ${missing[*]}; the tests that need them are skipped" >&2
fi
[ -x .venv/bin/python ] || python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
.venv/bin/ruff check .
.venv/bin/python -m mypy
rm -f .coverage .coverage.*
status=0
# One pytest worker per core, at most four (GUARITA_TEST_WORKERS=0 for one process): each
# worker starts its own slapd, KDC, PostgreSQL, Chromium and proxies, on free ports, in
# namespaces named by its pid, so a big machine's cores are not all memory for servers.
cores=$(nproc 2>/dev/null || echo 1)
workers=${GUARITA_TEST_WORKERS:-$(( cores < 4 ? cores : 4 ))}
.venv/bin/python -m coverage run -m pytest -n "$workers" "$@" || status=$?
.venv/bin/python -m coverage combine -q
.venv/bin/python -m coverage report
exit "$status"
