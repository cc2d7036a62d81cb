#!/usr/bin/env bash
# Install guarita into .venv and run the proxy on the embedded default (no LDAP, SQLite in ./var).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e .
exec .venv/bin/guarita run "$@"
