#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian machine with Python 3.11, then lint,
# type-check and run the tests with per-module coverage (subprocesses included).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ] && ! command -v slapd >/dev/null 2>&1; then
  # OpenLDAP for the directory tests; harmless when already installed.
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slapd ldap-utils curl >/dev/null) \
    || { echo "error: could not install slapd/ldap-utils from Debian; the LDAP tests need them" >&2; exit 1; }
elif ! command -v slapd >/dev/null 2>&1; then
  echo "warning: slapd not installed and not root; the LDAP tests will be skipped" >&2
fi
[ -x .venv/bin/python ] || python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
.venv/bin/ruff check .
.venv/bin/python -m mypy
rm -f .coverage .coverage.*
status=0
.venv/bin/python -m coverage run -m pytest "$@" || status=$?
.venv/bin/python -m coverage combine -q
.venv/bin/python -m coverage report
exit "$status"
